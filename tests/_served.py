"""A served line for the command-line tests: ``calmline line serve`` in a subprocess, and a client command run
against it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALMLINE = [sys.executable, "-c", "from mpc.cli import main; main(prog_name='calmline')"]


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_and_run(serve_args: list[str], client_args: list[str], *, timeout_s: float = 180.0
                  ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Serve a line (``calmline line serve SERVE_ARGS --insecure --port P``), wait until it listens, run ``calmline
    CLIENT_ARGS --insecure --opcua URL`` against it, and wait for the line to finish; return ``(server, client)``
    (their exit codes and outputs)."""
    port = free_port()
    serve = subprocess.Popen([*CALMLINE, "line", "serve", *serve_args, "--insecure", "--port", str(port)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        ctl = subprocess.run([*CALMLINE, *client_args, "--insecure", "--opcua",
                              f"opc.tcp://127.0.0.1:{port}/calmline/line"],
                             capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
        s_out, s_err = serve.communicate(timeout=timeout_s)
    finally:
        serve.kill()
    return subprocess.CompletedProcess(serve.args, serve.returncode, s_out, s_err), ctl
