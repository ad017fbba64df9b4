"""A served line for the command-line tests: ``calmline line serve`` in a subprocess, and a client command run
against it (and, beside it, other clients: the supervisory layer)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
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
    serve, ctl, _ = serve_and_run_beside(serve_args, client_args, [], timeout_s=timeout_s)
    return serve, ctl


def serve_and_run_beside(serve_args: list[str], client_args: list[str], beside: list[list[str]], *,
                         timeout_s: float = 180.0, client_python: Path | None = None,
                         beside_ready: str | None = None
                         ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str],
                                    list[subprocess.CompletedProcess[str]]]:
    """:func:`serve_and_run`, with further clients ``calmline BESIDE_ARGS --insecure --opcua URL`` started before the
    client and run beside it until the line finishes; return ``(server, client, [beside, ...])``. The client runs
    on ``client_python`` if given (calmline's source from the checkout), else on this interpreter; with
    ``beside_ready``, it starts once every further client has written that text on its stderr (connected, say:
    on a loaded machine a client that starts first may otherwise run ahead of them)."""
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/calmline/line"
    serve = subprocess.Popen([*CALMLINE, "line", "serve", *serve_args, "--insecure", "--port", str(port)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    others: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        others = [subprocess.Popen([*CALMLINE, *args, "--insecure", "--opcua", url], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in beside]
        errs: list[list[str]] = [[] for _ in others]
        readers = [threading.Thread(target=lambda p=p, e=e: e.extend(iter(p.stderr.readline, "")), daemon=True)
                   for p, e in zip(others, errs, strict=True)]
        for r in readers:
            r.start()
        if beside_ready is not None:
            deadline = time.monotonic() + 120
            while not all(any(beside_ready in line for line in e) for e in errs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in others):
                    raise RuntimeError(f"a client beside never wrote {beside_ready!r}: {[''.join(e)[-2000:] for e in errs]}")
                time.sleep(0.1)
        client = CALMLINE if client_python is None else [str(client_python), *CALMLINE[1:]]
        ctl = subprocess.run([*client, *client_args, "--insecure", "--opcua", url],
                             capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
        s_out, s_err = serve.communicate(timeout=timeout_s)
        done = []
        for p, e, r in zip(others, errs, readers, strict=True):
            o_out = p.stdout.read() if p.stdout is not None else ""
            p.wait(timeout=timeout_s)
            r.join(timeout=timeout_s)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, o_out, "".join(e)))
    finally:
        serve.kill()
        for p in others:
            p.kill()
    return subprocess.CompletedProcess(serve.args, serve.returncode, s_out, s_err), ctl, done
