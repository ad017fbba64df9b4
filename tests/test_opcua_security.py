"""The OPC UA link's security (mpc.opcua._security) against a toy asyncua server on 127.0.0.1.

Each test starts its own server on a free port (asyncua cannot bind port 0), runs
its clients under a timeout and stops the server in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from mpc.errors import OutputExistsError
from mpc.opcua._security import (
    CertificateFolderError,
    make_certificates,
    secure_client,
    secure_server,
)

SETPOINT = "zone1_air_temp_setpoint_K"
TARGET = "economic_target"  # the supervisory layer's node (JSON)
TARGET_0 = json.dumps({"line_speed_m_min": 20.0})
TIMEOUT_S = 20.0  # the whole of one test's server session; each client request times out after 3 s


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("opcua") / "certs"
    make_certificates(folder)
    return folder


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Line:
    """A running toy line server: its URL, its variables and the refused writes it reported."""

    def __init__(self, server: Server, url: str) -> None:
        self.server = server
        self.url = url
        self.setpoint: Any = None
        self.mode: Any = None
        self.target: Any = None  # the supervisory layer's node
        self.supervisor_nodes: set[ua.NodeId] = set()
        self.refused: list[tuple[str, str]] = []


@contextlib.asynccontextmanager
async def _line(certs: Path) -> AsyncIterator[Line]:
    url = f"opc.tcp://127.0.0.1:{_free_port()}/calmline/"
    server = Server()
    server.disable_clock()  # else stop() waits up to 1 s for the clock's loop
    await server.init()
    server.set_endpoint(url)
    line = Line(server, url)
    await secure_server(server, certs, on_refused=lambda who, node: line.refused.append((who, node)),
                        supervisor_nodes=line.supervisor_nodes)
    ns = await server.register_namespace("urn:calmline:test")
    obj = await server.nodes.objects.add_object(ns, "Line")
    line.setpoint = await obj.add_variable(ns, SETPOINT, 350.0, varianttype=ua.VariantType.Double)
    await line.setpoint.set_writable()
    line.mode = await obj.add_variable(ns, "line_mode", "run")  # read-only for clients
    line.target = await obj.add_variable(ns, TARGET, TARGET_0, varianttype=ua.VariantType.String)
    await line.target.set_writable()
    line.supervisor_nodes.add(line.target.nodeid)  # filled after secure_server: the server reads the set itself
    await server.start()
    try:
        yield line
    finally:
        await server.stop()


def _run(certs: Path, body: Callable[[Line], Awaitable[None]]) -> None:
    async def main() -> None:
        async with _line(certs) as line:
            await body(line)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT_S))


@contextlib.asynccontextmanager
async def _client(line: Line, certs: Path, identity: str, **kw: Any) -> AsyncIterator[Client]:
    client = Client(line.url, timeout=3)
    await secure_client(client, certs, identity, **kw)
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


def _double(value: float) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value, ua.VariantType.Double))


# --------------------------------------------------------------------------- (a) the controller writes


def test_controller_writes_the_setpoint(certs: Path) -> None:
    async def body(line: Line) -> None:
        async with _client(line, certs, "controller") as c:
            node = c.get_node(line.setpoint.nodeid)
            assert await node.read_value() == 350.0
            await node.write_value(_double(361.5))
            assert await node.read_value() == 361.5
        assert await line.setpoint.read_value() == 361.5
        assert line.refused == []

    _run(certs, body)


# --------------------------------------------------------------------------- (b) the viewer only reads


def test_viewer_reads_but_its_write_is_refused_and_logged(
    certs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(line: Line) -> None:
        async with _client(line, certs, "viewer") as c:
            node = c.get_node(line.setpoint.nodeid)
            assert await node.read_value() == 350.0
            parent = await node.get_parent()  # browsing is allowed
            names = [(await n.read_browse_name()).Name for n in await parent.get_children()]
            assert sorted(names) == sorted([SETPOINT, "line_mode", TARGET])
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(_double(400.0))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            assert await node.read_value() == 350.0
        assert await line.setpoint.read_value() == 350.0
        assert len(line.refused) == 1
        who, what = line.refused[0]
        assert "anonymous" in who and "urn:calmline:viewer" in who
        assert SETPOINT in what and line.setpoint.nodeid.to_string() in what

    with caplog.at_level(logging.WARNING, logger="calmline.opcua"):
        _run(certs, body)
    logged = [r.getMessage() for r in caplog.records
              if r.name == "calmline.opcua" and "write refused" in r.getMessage()]
    assert len(logged) == 1
    assert "urn:calmline:viewer" in logged[0] and SETPOINT in logged[0]


def test_the_user_certificate_decides_who_writes(certs: Path) -> None:
    """The viewer's channel with the controller's certificate as user identity writes; its own does not."""

    async def body(line: Line) -> None:
        client = Client(line.url, timeout=3)
        await secure_client(client, certs, "viewer")
        await client.load_client_certificate(str(certs / "controller" / "cert.der"))
        await client.load_private_key(certs / "controller" / "key.pem")
        await client.connect()
        try:
            await client.get_node(line.setpoint.nodeid).write_value(_double(355.0))
        finally:
            await client.disconnect()
        assert await line.setpoint.read_value() == 355.0

        async with _client(line, certs, "viewer", present_certificate=True) as c:
            with pytest.raises(ua.UaStatusCodeError) as err:
                await c.get_node(line.setpoint.nodeid).write_value(_double(356.0))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.setpoint.read_value() == 355.0
        assert len(line.refused) == 1 and "urn:calmline:viewer" in line.refused[0][0]

    _run(certs, body)


def test_controller_write_to_a_read_only_node_is_refused_and_logged(certs: Path) -> None:
    async def body(line: Line) -> None:
        async with _client(line, certs, "controller") as c:
            with pytest.raises(ua.UaStatusCodeError) as err:
                await c.get_node(line.mode.nodeid).write_value("stop")
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.mode.read_value() == "run"
        assert len(line.refused) == 1
        who, what = line.refused[0]
        assert "controller" in who and "line_mode" in what

    _run(certs, body)


# --------------------------------------------------------------------------- (b2) the supervisory layer


def test_supervisor_writes_its_node_only(certs: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = json.dumps({"line_speed_m_min": 22.5, "zone1_air_temp_K": 358.0})

    async def body(line: Line) -> None:
        async with _client(line, certs, "supervisor") as c:  # presents its certificate by default
            node = c.get_node(line.target.nodeid)
            await node.write_value(target)
            assert json.loads(await node.read_value()) == json.loads(target)
            setpoint = c.get_node(line.setpoint.nodeid)
            assert await setpoint.read_value() == 350.0
            with pytest.raises(ua.UaStatusCodeError) as err:
                await setpoint.write_value(_double(400.0))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            # a write naming its own node and another is refused as a whole
            with pytest.raises(ua.UaStatusCodeError) as err:
                await c.write_values([node, setpoint], [TARGET_0, _double(401.0)])
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            assert await node.read_value() == target
            # no method calls
            with pytest.raises(ua.UaStatusCodeError) as err:
                await c.nodes.server.call_method(ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems),
                                                 ua.Variant(1, ua.VariantType.UInt32))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.setpoint.read_value() == 350.0
        assert await line.target.read_value() == target
        assert len(line.refused) == 2  # one per refused write, naming only the node it may not write
        for who, what in line.refused:
            assert who.startswith("supervisor 'supervisor' (CN=calmline supervisor")
            assert "urn:calmline:supervisor" in who
            assert SETPOINT in what and line.setpoint.nodeid.to_string() in what

    with caplog.at_level(logging.WARNING, logger="calmline.opcua"):
        _run(certs, body)
    logged = [r.getMessage() for r in caplog.records
              if r.name == "calmline.opcua" and "write refused" in r.getMessage()]
    assert len(logged) == 2 and all("supervisor 'supervisor'" in m and SETPOINT in m for m in logged)
    assert any("CallRequest is not permitted" in r.getMessage() for r in caplog.records)


def test_controller_may_not_write_the_supervisor_node(certs: Path) -> None:
    async def body(line: Line) -> None:
        async with _client(line, certs, "controller") as c:
            node = c.get_node(line.target.nodeid)
            assert await node.read_value() == TARGET_0
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(json.dumps({"line_speed_m_min": 99.0}))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            await c.get_node(line.setpoint.nodeid).write_value(_double(362.0))
        assert await line.target.read_value() == TARGET_0
        assert await line.setpoint.read_value() == 362.0
        assert len(line.refused) == 1
        who, what = line.refused[0]
        assert who.startswith("controller 'controller'") and TARGET in what

    _run(certs, body)


def test_viewer_writes_neither_the_setpoint_nor_the_supervisor_node(certs: Path) -> None:
    async def body(line: Line) -> None:
        async with _client(line, certs, "viewer") as c:
            for node, value in ((line.target, json.dumps({})), (line.setpoint, _double(1.0))):
                with pytest.raises(ua.UaStatusCodeError) as err:
                    await c.get_node(node.nodeid).write_value(value)
                assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.target.read_value() == TARGET_0
        assert await line.setpoint.read_value() == 350.0
        assert [what.split(" ")[1] for _, what in line.refused] == [f"({TARGET})", f"({SETPOINT})"]
        assert all("urn:calmline:viewer" in who for who, _ in line.refused)

    _run(certs, body)


def test_a_folder_without_supervisors_still_serves_controllers(
    certs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder from an older calmline: no ``supervisors/``, so the supervisor's certificate reads only."""
    old = tmp_path / "old"
    shutil.copytree(certs, old)
    shutil.rmtree(old / "supervisors")

    async def body(line: Line) -> None:
        async with _client(line, certs, "controller") as c:
            await c.get_node(line.setpoint.nodeid).write_value(_double(357.0))
        async with _client(line, certs, "supervisor") as c:
            node = c.get_node(line.target.nodeid)
            assert await node.read_value() == TARGET_0
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(json.dumps({}))
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.setpoint.read_value() == 357.0
        assert await line.target.read_value() == TARGET_0
        assert len(line.refused) == 1 and "anonymous (read-only)" in line.refused[0][0]

    with caplog.at_level(logging.INFO, logger="calmline.opcua"):
        _run(old, body)
    assert any("no supervisor identities" in r.getMessage() for r in caplog.records)


def test_a_certificate_in_both_writer_lists_is_refused(certs: Path, tmp_path: Path) -> None:
    both = tmp_path / "both"
    shutil.copytree(certs, both)
    shutil.copy(both / "controllers" / "controller.der", both / "supervisors" / "edge.der")
    with pytest.raises(CertificateFolderError, match="both") as err:
        asyncio.run(secure_server(Server(), both))
    assert str(both / "controllers" / "controller.der") in str(err.value)
    assert str(both / "supervisors" / "edge.der") in str(err.value)
    with pytest.raises(TypeError, match="supervisor_nodes"):
        asyncio.run(secure_server(Server(), certs, supervisor_nodes=[ua.NodeId(1, 2)]))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- (c) an untrusted certificate


def _intruder(folder: Path) -> tuple[Path, Path]:
    key = cert_gen.generate_private_key()
    uri = "urn:calmline:intruder"
    cert = cert_gen.generate_self_signed_app_certificate(
        key, "intruder", {}, [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.der").write_bytes(cert.public_bytes(Encoding.DER))
    (folder / "key.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
    return folder / "cert.der", folder / "key.pem"


def test_untrusted_client_certificate_cannot_connect(certs: Path, tmp_path: Path) -> None:
    cert, key = _intruder(tmp_path / "intruder")

    async def intruder(line: Line, hide_certificate: bool) -> Client:
        client = Client(line.url, timeout=3)
        client.application_uri = "urn:calmline:intruder"
        await client.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key),
                                  server_certificate=str(certs / "line" / "cert.der"),
                                  mode=ua.MessageSecurityMode.SignAndEncrypt)
        if hide_certificate:  # leave the certificate out of CreateSession: the validator is skipped
            create = client.uaclient.create_session

            async def create_session(params: ua.CreateSessionParameters) -> Any:
                params.ClientCertificate = None
                return await create(params)

            client.uaclient.create_session = create_session  # type: ignore[method-assign]
        return client

    async def body(line: Line) -> None:
        client = await intruder(line, hide_certificate=False)
        with pytest.raises(ua.UaStatusCodeError) as err:
            await client.connect()
        assert err.value.code == ua.StatusCodes.BadCertificateUntrusted

        client = await intruder(line, hide_certificate=True)
        with pytest.raises(ua.UaStatusCodeError) as err:
            await client.connect()
        assert err.value.code == ua.StatusCodes.BadUserAccessDenied
        assert await line.setpoint.read_value() == 350.0

    _run(certs, body)


# --------------------------------------------------------------------------- (d) no security at all


def test_client_without_security_cannot_connect(certs: Path) -> None:
    async def body(line: Line) -> None:
        endpoints = await line.server.get_endpoints()
        assert [(e.SecurityPolicyUri, e.SecurityMode) for e in endpoints] == [
            (SecurityPolicyBasic256Sha256.URI, ua.MessageSecurityMode.SignAndEncrypt)
        ]
        plain = Client(line.url, timeout=3)
        with pytest.raises(ua.UaError, match="No matching endpoints"):
            await plain.connect()

        # A client that ignores the endpoint list: asyncua's server still lets a None channel
        # create a session; the user manager refuses to activate it (no certificate).
        raw = Client(line.url, timeout=3)
        await raw.connect_socket()
        try:
            await raw.send_hello()
            await raw.open_secure_channel()
            with contextlib.suppress(ua.UaError):
                await raw.create_session()  # the client's own endpoint check raises after the server answered
            with pytest.raises(ua.UaStatusCodeError) as err:
                await raw.activate_session()
            assert err.value.code == ua.StatusCodes.BadUserAccessDenied
            with pytest.raises(ua.UaStatusCodeError) as err:
                await raw.get_node(line.setpoint.nodeid).write_value(_double(999.0))
            assert err.value.code == ua.StatusCodes.BadSessionNotActivated
        finally:
            raw.disconnect_socket()
        assert await line.setpoint.read_value() == 350.0

    _run(certs, body)


# --------------------------------------------------------------------------- (e) the certificate folder


def test_make_certificates_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    paths = make_certificates(folder, host="127.0.0.1", days=30)
    assert {"line_cert", "line_key", "controller_cert", "viewer_key", "trusted", "controllers"} <= set(paths)
    first = paths["line_cert"].read_bytes()
    cert = x509.load_der_x509_certificate(first)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:calmline:line"]
    assert sorted(p.name for p in paths["trusted"].iterdir()) == ["controller.der", "supervisor.der", "viewer.der"]
    assert [p.name for p in paths["controllers"].iterdir()] == ["controller.der"]
    assert paths["controller_key"].stat().st_mode & 0o077 == 0
    # the supervisory layer's identity: its own files, trusted, and the supervisors' list only
    assert paths["supervisor_cert"] == folder / "supervisor" / "cert.der"
    assert paths["supervisor_key"] == folder / "supervisor" / "key.pem"
    assert paths["supervisor_key"].stat().st_mode & 0o077 == 0
    assert paths["supervisors"] == folder / "supervisors"
    assert [p.name for p in paths["supervisors"].iterdir()] == ["supervisor.der"]
    sup = paths["supervisor_cert"].read_bytes()
    assert (folder / "trusted" / "supervisor.der").read_bytes() == sup
    assert (folder / "supervisors" / "supervisor.der").read_bytes() == sup
    san = x509.load_der_x509_certificate(sup).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:calmline:supervisor"]

    with pytest.raises(OutputExistsError, match=re.escape(str(folder))):
        make_certificates(folder)
    assert paths["line_cert"].read_bytes() == first

    (folder / "notes.txt").write_text("mine")
    again = make_certificates(folder, overwrite=True)
    assert again["line_cert"].read_bytes() != first
    assert (folder / "notes.txt").read_text() == "mine"

    # a file calmline did not write is never replaced, even with overwrite=True
    other = tmp_path / "other"
    (other / "line").mkdir(parents=True)
    (other / "line" / "cert.der").write_bytes(b"the user's own")
    with pytest.raises(OutputExistsError, match=re.escape("line/cert.der")):
        make_certificates(other, overwrite=True)
    assert (other / "line" / "cert.der").read_bytes() == b"the user's own"


def test_bad_folders_and_hosts_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CertificateFolderError, match=re.escape(str(missing))):
        asyncio.run(secure_server(Server(), missing))
    with pytest.raises(CertificateFolderError, match=re.escape(str(missing))):
        asyncio.run(secure_client(Client("opc.tcp://127.0.0.1:4840"), missing))
    half = tmp_path / "half"
    half.mkdir()
    with pytest.raises(CertificateFolderError, match=re.escape("viewer/cert.der")):
        asyncio.run(secure_client(Client("opc.tcp://127.0.0.1:4840"), half, "viewer"))
    odd = tmp_path / "odd"
    make_certificates(odd)
    (odd / "trusted" / "order.txt").write_text("not a certificate")
    with pytest.raises(CertificateFolderError, match=re.escape("order.txt")):
        asyncio.run(secure_server(Server(), odd))
    with pytest.raises(ValueError, match="host"):
        make_certificates(tmp_path / "x", host="not a host")
    with pytest.raises(ValueError, match="days"):
        make_certificates(tmp_path / "y", days=0)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
