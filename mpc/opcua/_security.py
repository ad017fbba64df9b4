"""Security of the OPC UA link: certificates, a trust list and who may write.

The line server (``line``) and its clients, the edge controller (``controller``), the
NMPC's supervisory layer (``supervisor``) and a read-only ``viewer``, each hold a
self-signed application certificate. The server

* offers one endpoint only: security policy Basic256Sha256 with mode
  SignAndEncrypt (no ``None`` endpoint, no ``Sign``-only endpoint);
* accepts a session only from a client whose application certificate is in its
  trust list (``trusted/``): asyncua's :class:`~asyncua.crypto.validator.CertificateValidator`
  with a :class:`~asyncua.crypto.truststore.TrustStore` refuses any other with
  ``BadCertificateUntrusted``, and the user manager refuses it again on
  ActivateSession (``BadUserAccessDenied``) should a client leave its certificate
  out of CreateSession;
* decides who writes by the client's identity, the X509 user certificate it
  presents or else the application certificate of its channel: one in the
  controller list (``controllers/``) may write (and Call) any writable node but
  the supervisory layer's; one in the supervisor list (``supervisors/``) may
  write the supervisory layer's nodes only (the ``supervisor_nodes`` of
  :func:`secure_server`) and call nothing; everyone else may read, browse and
  subscribe. A refused Write comes back as ``BadUserAccessDenied`` (as a whole,
  when it names any node the identity may not write) and is logged (logger
  ``calmline.opcua``) with the client's identity and the node, and handed to an
  ``on_refused(identity, node)`` hook.

The folder :func:`make_certificates` writes::

    line/cert.der, line/key.pem                the server's certificate and key
    controller/cert.der, controller/key.pem    the controller client's
    supervisor/cert.der, supervisor/key.pem    the supervisory layer's
    viewer/cert.der, viewer/key.pem            the read-only client's
    trusted/controller.der, trusted/supervisor.der, trusted/viewer.der
                                               clients the server lets open a session
    controllers/controller.der                 identities that may write (not the
                                               supervisory layer's nodes)
    supervisors/supervisor.der                 identities that may write the
                                               supervisory layer's nodes only
    .calmline-manifest.json                    the files calmline wrote (mpc.outputs)

Private keys are written unencrypted with mode 0600: keep the folder private. To
trust another client, put its DER certificate into ``trusted/`` (and into
``controllers/`` or ``supervisors/``, never both, to let it write) and restart the
server. A folder without ``supervisors/`` (made by an older calmline) still
works: it has no supervisor identities.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asyncua import Client, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.common.utils import Buffer, ServiceError
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.user_managers import UserManager
from asyncua.ua.ua_binary import struct_from_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mpc.errors import CalmlineError
from mpc.outputs import OutputFolder

__all__ = [
    "APPLICATION_URIS",
    "CertificateFolderError",
    "make_certificates",
    "secure_client",
    "secure_server",
]

logger = logging.getLogger("calmline.opcua")

APPLICATION_URIS: dict[str, str] = {
    "line": "urn:calmline:line",
    "controller": "urn:calmline:controller",
    "supervisor": "urn:calmline:supervisor",
    "viewer": "urn:calmline:viewer",
}
"""The application URI of each application :func:`make_certificates` makes a certificate for."""

_CLIENTS = ("controller", "supervisor", "viewer")
_WRITERS = ("controller",)
_SUPERVISOR_IDS = ("supervisor",)
_TRUSTED = "trusted"
_CONTROLLERS = "controllers"
_SUPERVISORS = "supervisors"
_CERT = "cert.der"
_KEY = "key.pem"

RefusedHook = Callable[[str, str], None]
"""``on_refused(identity, node)``: called by the server for every node of a refused write."""

class CertificateFolderError(CalmlineError):
    """A certificate folder, or a file in it, is missing or unreadable (the message names it)."""


# --------------------------------------------------------------------------- certificates


def _subject_alt_names(uri: str, host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri)]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        names.append(x509.DNSName(host))
    else:
        names.append(x509.IPAddress(ip))
        if ip.is_loopback:
            # everything on this machine: its own host name too (asyncua warns when it is missing)
            for dns in dict.fromkeys(("localhost", socket.gethostname())):
                if dns and dns.isascii():
                    names.append(x509.DNSName(dns))
    return names


def _check_host(host: str) -> str:
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"host {host!r}: expected an IP address or a DNS name, e.g. '127.0.0.1'")
    host = host.strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        ok = all(
            0 < len(lab) <= 63 and lab[0] != "-" and lab[-1] != "-"
            and all(c.isalnum() or c == "-" for c in lab) and lab.isascii()
            for lab in labels
        )
        if not ok:
            raise ValueError(
                f"host {host!r}: expected an IP address or a DNS name (letters, digits, '-' and '.'), "
                "e.g. '127.0.0.1' or 'line-plc.local'"
            ) from None
    return host


def _write_private(data: bytes) -> Callable[[Path], object]:
    """A writer for :meth:`OutputFolder.write_with` that creates the file readable by its owner only."""

    def write(path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    return write


def make_certificates(
    folder: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    days: int = 365,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Make the certificates, keys and trust lists of the OPC UA link in ``folder``.

    A self-signed application certificate (DER) and an unencrypted private key
    (PEM, mode 0600) are made for the line server (``line``, application URI
    ``urn:calmline:line``), the controller client (``controller``), the NMPC's
    supervisory layer (``supervisor``, ``urn:calmline:supervisor``) and a
    read-only client (``viewer``). The three clients' certificates go into the
    server's trust list (``trusted/``); the controller's into the list of
    identities that may write (``controllers/``), the supervisor's into the
    list of those that may write the supervisory layer's nodes only
    (``supervisors/``). The module docstring shows the layout.

    Parameters
    ----------
    folder : path-like
        Where to write; created (with its parents) when missing.
    host : str
        The line server's IP address or DNS name, put into every certificate's
        subject alternative names beside its application URI (a loopback
        address also adds the DNS names ``localhost`` and this machine's host
        name: server and clients all run here).
    days : int
        How long the certificates are valid, from now.
    overwrite : bool
        Write into a folder that already holds files: replace only the files
        calmline wrote there before (listed in its ``.calmline-manifest.json``
        and unchanged since), never any other (the rules of :mod:`mpc.outputs`).

    Returns
    -------
    dict of str to Path
        ``line_cert``, ``line_key``, ``controller_cert``, ``controller_key``,
        ``supervisor_cert``, ``supervisor_key``, ``viewer_cert``,
        ``viewer_key``: the files; ``trusted``, ``controllers`` and
        ``supervisors``: the three trust-list folders; ``folder``: the folder.

    Raises
    ------
    mpc.errors.OutputExistsError
        The folder holds files and ``overwrite`` is False, or a file to be
        replaced is not calmline's or was edited (the message names it);
        nothing is written.
    ValueError
        ``host`` is not an IP address or DNS name, or ``days`` is not a
        positive whole number.

    Examples
    --------
    >>> from mpc.opcua._security import make_certificates
    >>> paths = make_certificates("opcua-certs", host="192.168.0.10")  # doctest: +SKIP
    """
    host = _check_host(host)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days {days!r}: expected a whole number of days >= 1")
    root = Path(folder)
    apps = ("line", *_CLIENTS)
    names = [f"{a}/{f}" for a in apps for f in (_CERT, _KEY)]
    names += [f"{_TRUSTED}/{c}.der" for c in _CLIENTS]
    names += [f"{_CONTROLLERS}/{c}.der" for c in _WRITERS]
    names += [f"{_SUPERVISORS}/{c}.der" for c in _SUPERVISOR_IDS]
    out = OutputFolder(root, names, force=overwrite, command="calmline opcua make_certificates")

    made: dict[str, tuple[bytes, bytes]] = {}
    for app in apps:
        key = cert_gen.generate_private_key()
        usage = ExtendedKeyUsageOID.SERVER_AUTH if app == "line" else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = cert_gen.generate_self_signed_app_certificate(
            key,
            f"calmline {app}",
            {"organizationName": "calmline"},
            _subject_alt_names(APPLICATION_URIS[app], host),
            extended=[usage],
            days=days,
        )
        made[app] = (cert.public_bytes(Encoding.DER), cert_gen.dump_private_key_as_pem(key))

    paths: dict[str, Path] = {"folder": root, _TRUSTED: root / _TRUSTED, _CONTROLLERS: root / _CONTROLLERS,
                              _SUPERVISORS: root / _SUPERVISORS}
    with out:
        for app, (der, pem) in made.items():
            paths[f"{app}_cert"] = out.write_bytes(f"{app}/{_CERT}", der)
            paths[f"{app}_key"] = out.write_with(f"{app}/{_KEY}", _write_private(pem))
        for c in _CLIENTS:
            out.write_bytes(f"{_TRUSTED}/{c}.der", made[c][0])
        for c in _WRITERS:
            out.write_bytes(f"{_CONTROLLERS}/{c}.der", made[c][0])
        for c in _SUPERVISOR_IDS:
            out.write_bytes(f"{_SUPERVISORS}/{c}.der", made[c][0])
    logger.info("OPC UA certificates for %s written to %s (valid %d days)", ", ".join(apps), root, days)
    return paths


# --------------------------------------------------------------------------- reading a certificate folder


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise CertificateFolderError(
            f"{path}: {what} is missing; make the certificate folder with "
            "`calmline line certs DIR` or give the folder that holds it"
        )
    return path


def _folder(certs: str | os.PathLike[str]) -> Path:
    root = Path(certs)
    if not root.is_dir():
        state = "is a file" if root.exists() else "does not exist"
        raise CertificateFolderError(
            f"certificate folder {root} {state}; make it with "
            "`calmline line certs DIR`"
        )
    return root


def _load_cert(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertificateFolderError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".pem" or data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateFolderError(
            f"{path}: not an X.509 certificate (expected DER, or PEM with a .pem suffix)"
        ) from None


def _check_key(path: Path) -> Path:
    try:
        load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise CertificateFolderError(f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, TypeError):
        raise CertificateFolderError(
            f"{path}: not an unencrypted PEM private key (as make_certificates writes)"
        ) from None
    return path


def _cert_files(folder: Path) -> dict[bytes, Path]:
    """DER bytes to file of every certificate (``*.der``, ``*.pem``) in a trust-list folder."""
    _need(folder, "the trust-list folder")
    if not folder.is_dir():
        raise CertificateFolderError(f"{folder}: expected a folder of certificates, found a file")
    out: dict[bytes, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in (".der", ".pem"):
            out[_load_cert(path).public_bytes(Encoding.DER)] = path
    return out


def _cert_list(folder: Path) -> dict[bytes, str]:
    """DER bytes to file stem of every certificate (``*.der``, ``*.pem``) in a trust-list folder."""
    return {der: path.stem for der, path in _cert_files(folder).items()}


def _writer_lists(root: Path) -> tuple[dict[bytes, str], dict[bytes, str]]:
    """The controller and supervisor lists (DER bytes to file stem); no certificate may be in both.

    A folder without ``supervisors/`` (made by an older calmline) has no supervisors.
    """
    controllers = _cert_files(root / _CONTROLLERS)
    sup_dir = root / _SUPERVISORS
    if sup_dir.exists():
        supervisors = _cert_files(sup_dir)
    else:
        logger.info("OPC UA certificate folder %s has no %s/: no supervisor identities", root, _SUPERVISORS)
        supervisors = {}
    both = [(controllers[der], supervisors[der]) for der in controllers if der in supervisors]
    if both:
        files = "; ".join(f"{c} and {s}" for c, s in both)
        raise CertificateFolderError(
            f"the same certificate is in both {_CONTROLLERS}/ and {_SUPERVISORS}/ ({files}): an identity "
            f"is either a controller or a supervisor; remove it from one of the two"
        )
    return ({der: p.stem for der, p in controllers.items()}, {der: p.stem for der, p in supervisors.items()})


def _uri(cert: x509.Certificate, path: Path) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if not uris:
        raise CertificateFolderError(
            f"{path}: the certificate names no application URI (subject alternative name); "
            "OPC UA needs one"
        )
    return uris[0]


def _describe(der: bytes) -> str:
    """``CN=..., urn:..., sha1 ab12cd34`` of a DER certificate, for logs."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return "an unreadable certificate"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    parts = [f"CN={cn[0].value}" if cn else "no CN", *uris[:1],
             f"sha1 {cert.fingerprint(hashes.SHA1()).hex()[:16]}"]
    return ", ".join(str(p) for p in parts)


# --------------------------------------------------------------------------- server side

# Requests a read-only identity may make: sessions, reading, browsing, subscriptions.
_READ_TYPES = frozenset(
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
        ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ReadRequest_Encoding_DefaultBinary,
        ua.ObjectIds.HistoryReadRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseNextRequest_Encoding_DefaultBinary,
        ua.ObjectIds.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RegisterNodesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.UnregisterNodesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateSubscriptionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ModifySubscriptionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteSubscriptionsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.TransferSubscriptionsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.SetPublishingModeRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ModifyMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.SetMonitoringModeRequest_Encoding_DefaultBinary,
        ua.ObjectIds.PublishRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RepublishRequest_Encoding_DefaultBinary,
    )
)
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
# A controller may also write values and call methods; nobody may change the address space.
_WRITE_TYPES = _READ_TYPES | {_WRITE, ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)}
# A supervisor may write (its own nodes only: see _LineRuleset) but call no method.
_SUPERVISOR_TYPES = _READ_TYPES | {_WRITE}

IdentityKind = Literal["controller", "supervisor", "viewer"]


@dataclass
class _Identity(User):
    """An asyncua :class:`User` with its kind (who may write what) and a description for the logs."""

    description: str = "anonymous"
    kind: IdentityKind = "viewer"


def _who(user: Any) -> str:
    if isinstance(user, _Identity):
        return user.description
    return "anonymous (no activated session)" if user is None else str(getattr(user, "name", None) or user)


class _LineUserManager(UserManager):
    """Controllers (``controllers/``) and supervisors (``supervisors/``) may write; other trusted clients read only.

    asyncua hands :meth:`get_user` the X509 user-token certificate when the
    client presents one (its signature already checked), else the channel's
    application certificate. A certificate in no list is refused. Which nodes
    a writer may write is :class:`_LineRuleset`'s to decide, by the identity's
    ``kind``.
    """

    def __init__(self, trusted: dict[bytes, str], controllers: dict[bytes, str],
                 supervisors: dict[bytes, str] | None = None) -> None:
        self._trusted = trusted
        self._controllers = controllers
        self._supervisors = supervisors or {}

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None or password is not None:
            logger.warning("OPC UA session refused: user name %r (only certificates are accepted)", username)
            return None
        if not certificate:
            logger.warning("OPC UA session refused: no client certificate")
            return None
        der = bytes(certificate)
        if der in self._controllers:
            return _Identity(role=UserRole.User, name=self._controllers[der], kind="controller",
                             description=f"controller {self._controllers[der]!r} ({_describe(der)})")
        if der in self._supervisors:
            return _Identity(role=UserRole.User, name=self._supervisors[der], kind="supervisor",
                             description=f"supervisor {self._supervisors[der]!r} ({_describe(der)})")
        if der in self._trusted:
            return _Identity(role=UserRole.Anonymous, name=None, kind="viewer",
                             description=f"anonymous (read-only) via {_describe(der)}")
        logger.warning("OPC UA session refused: certificate not in the trust list (%s)", _describe(der))
        return None


def _kind(user: Any) -> IdentityKind:
    if isinstance(user, _Identity):
        return user.kind
    # not one of ours (asyncua's own users): by role, as asyncua's rules would
    return "controller" if getattr(user, "role", UserRole.Anonymous) in (UserRole.User, UserRole.Admin) else "viewer"


def _write_nodes(body: Buffer) -> list[ua.NodeId] | None:
    """The nodes a WriteRequest's body names; None when it cannot be read."""
    try:
        params = struct_from_binary(ua.WriteParameters, body.copy())
        return [w.NodeId for w in params.NodesToWrite]
    except Exception:
        return None


class _LineRuleset(PermissionRuleset):
    """Who may make which request and write which node; a refused write is logged and handed to ``on_refused``.

    Viewers read only. Controllers may write (and Call) anything but the nodes
    in ``supervisor_nodes``; supervisors may write those nodes only (and call
    nothing). A write naming any node its identity may not write is refused as
    a whole. ``supervisor_nodes`` is read at each check (the server adds its
    nodes after it is secured), never copied.
    """

    def __init__(self, server: Server, on_refused: RefusedHook | None,
                 supervisor_nodes: AbstractSet[ua.NodeId] | None = None) -> None:
        self._server = server
        self._on_refused = on_refused
        self._supervisor_nodes: AbstractSet[ua.NodeId] = supervisor_nodes if supervisor_nodes is not None else set()

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Buffer) -> bool:
        kind = _kind(user)
        allowed = {"controller": _WRITE_TYPES, "supervisor": _SUPERVISOR_TYPES}.get(kind, _READ_TYPES)
        if action_type_id not in allowed:
            if action_type_id == _WRITE:
                nodes = _write_nodes(body)
                _refused(self._server, self._on_refused, _who(user), nodes or [None])
            else:
                logger.warning("OPC UA request refused for %s: %s is not permitted", _who(user),
                               _request_name(action_type_id))
            return False
        if action_type_id != _WRITE or (kind == "controller" and not self._supervisor_nodes):
            return True
        nodes = _write_nodes(body)
        if nodes is None:  # a malformed request is refused all the same
            _refused(self._server, self._on_refused, _who(user), [None])
            return False
        mine = kind == "supervisor"
        bad = [n for n in nodes if (n in self._supervisor_nodes) != mine]
        if bad:
            _refused(self._server, self._on_refused, _who(user), bad)
            return False
        return True


def _request_name(type_id: ua.NodeId) -> str:
    for name in dir(ua.ObjectIds):
        if name.endswith("_Encoding_DefaultBinary") and getattr(ua.ObjectIds, name) == type_id.Identifier:
            return name.removesuffix("_Encoding_DefaultBinary")
    return type_id.to_string()


def _node_text(server: Server, node: ua.NodeId | None) -> str:
    if node is None:
        return "(unreadable request)"
    text = node.to_string()
    try:
        dv = server.iserver.aspace.read_attribute_value(node, ua.AttributeIds.BrowseName)
        name = dv.Value.Value.Name if dv.Value is not None and dv.Value.Value is not None else None
    except Exception:
        name = None
    return f"{text} ({name})" if name else text


def _refused(server: Server, hook: RefusedHook | None, who: str, nodes: Iterable[ua.NodeId | None]) -> None:
    """Log one refused write per node and hand it to ``hook`` (whose own errors are logged, not raised)."""
    for node in nodes:
        text = _node_text(server, node)
        logger.warning("OPC UA write refused: %s may not write %s", who, text)
        if hook is not None:
            try:
                hook(who, text)
            except Exception:
                logger.exception("the on_refused hook raised for %s writing %s", who, text)


async def secure_server(
    server: Server,
    certs: str | os.PathLike[str],
    *,
    on_refused: RefusedHook | None = None,
    supervisor_nodes: set[ua.NodeId] | None = None,
) -> None:
    """Make ``server`` the secured line server: Basic256Sha256 SignAndEncrypt, trust list, writers.

    Call after ``await server.init()`` and before ``await server.start()``. It

    * offers only the endpoint Basic256Sha256 / SignAndEncrypt
      (``Server.set_security_policy``), with the identity tokens Anonymous and
      X509 certificate (``Server.set_identity_tokens``; no user names);
    * loads ``line/cert.der`` and ``line/key.pem`` and sets the application URI
      to the certificate's (``urn:calmline:line``);
    * validates every client's application certificate on CreateSession
      against ``trusted/`` (time range, URI, key usage, client use, trusted:
      ``Server.set_certificate_validator`` with asyncua's
      ``CertificateValidator`` and ``TrustStore``): an untrusted client gets
      ``BadCertificateUntrusted``;
    * maps identities to kinds (``InternalServer.set_user_manager``): a
      certificate (user token, else channel) in ``controllers/`` is a
      controller, one in ``supervisors/`` a supervisor (a folder without
      ``supervisors/`` has none), any other trusted one reads only, an
      untrusted one is refused;
    * lets a controller write (and Call) any writable node except those in
      ``supervisor_nodes``, a supervisor write only those (no Call), a
      read-only identity write nothing: a Write naming any node its identity
      may not write is refused as a whole with ``BadUserAccessDenied`` (a
      ``PermissionRuleset`` handed to ``set_security_policy``), logged on
      logger ``calmline.opcua`` and handed to ``on_refused(identity, node)``
      once per node not allowed; a write the address space refuses (a
      read-only node) is logged and handed on the same way.

    Parameters
    ----------
    server : asyncua.Server
        An initialised, not yet started server.
    certs : path-like
        The folder :func:`make_certificates` wrote.
    on_refused : callable, optional
        ``on_refused(identity, node)``: ``identity`` describes the client
        (``anonymous (read-only) via CN=calmline viewer, urn:calmline:viewer,
        sha1 ...``, ``controller 'controller' (...)`` or ``supervisor
        'supervisor' (...)``), ``node`` is the node id and browse name
        (``ns=2;i=2 (zone1_air_temp_setpoint_K)``). Runs on the server's event
        loop: keep it short; an exception it raises is logged, not passed on.
    supervisor_nodes : set of asyncua.ua.NodeId, optional
        The supervisory layer's nodes: the only ones a supervisor may write,
        the ones a controller may not. The server keeps this very set and
        reads it at each Write, so the caller may fill it after this call
        (once it has made its variables). None: no such nodes (a supervisor
        may write nothing).

    Raises
    ------
    CertificateFolderError
        The folder, a file or a trust list is missing or unreadable, or a
        certificate is in both ``controllers/`` and ``supervisors/`` (the
        message names the files).
    RuntimeError
        The server has been started already.
    TypeError
        ``supervisor_nodes`` is not a set.
    """
    if server.bserver is not None:
        raise RuntimeError("secure_server: call it before server.start() (the endpoints are made on start)")
    if supervisor_nodes is None:
        supervisor_nodes = set()
    elif not isinstance(supervisor_nodes, AbstractSet):
        raise TypeError(f"supervisor_nodes: expected a set of asyncua.ua.NodeId, got {type(supervisor_nodes).__name__}")
    root = _folder(certs)
    cert_path = _need(root / "line" / _CERT, "the line server's certificate")
    key_path = _check_key(_need(root / "line" / _KEY, "the line server's private key"))
    cert = _load_cert(cert_path)
    uri = _uri(cert, cert_path)
    trusted_dir = root / _TRUSTED
    trusted = _cert_list(trusted_dir)
    controllers, supervisors = _writer_lists(root)
    if not trusted:
        logger.warning("OPC UA trust list %s is empty: no client can open a session", trusted_dir)
    store = TrustStore([trusted_dir], [])
    try:
        await store.load()
    except ValueError:
        # asyncua's TrustStore reads every file whose name merely contains 'der' or 'pem'
        odd = sorted(p.name for p in trusted_dir.glob("*.*")
                     if ("der" in p.name.lower() or "pem" in p.name.lower())
                     and p.suffix.lower() not in (".der", ".pem"))
        raise CertificateFolderError(
            f"{trusted_dir}: {', '.join(odd) or 'a file there'} is not a certificate, but asyncua reads "
            "every file whose name contains 'der' or 'pem' as one; keep only certificates there"
        ) from None

    await server.load_certificate(cert_path)
    await server.load_private_key(key_path)
    await server.set_application_uri(uri)
    server.set_security_policy(
        [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
        permission_ruleset=_LineRuleset(server, on_refused, supervisor_nodes),  # type: ignore[arg-type]
    )
    server.set_identity_tokens([ua.AnonymousIdentityToken, ua.X509IdentityToken])

    validator = CertificateValidator(
        CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT, store
    )

    async def validate(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
        try:
            await validator(certificate, app)
        except ServiceError as exc:
            logger.warning("OPC UA session refused: %s for the client certificate (%s) of %s",
                           ua.StatusCode(exc.code).name, _describe(certificate.public_bytes(Encoding.DER)),
                           app.ApplicationUri)
            raise

    server.set_certificate_validator(validate)
    # An identity is a certificate: trusted for the channel, or a controller's or a supervisor's.
    server.iserver.set_user_manager(
        _LineUserManager({**trusted, **controllers, **supervisors}, controllers, supervisors)
    )

    def post_write(event: ServerItemCallback, _dispatcher: Any) -> None:
        if not event.is_external or not event.response_params:
            return
        bad = [
            w.NodeId
            for w, status in zip(event.request_params.NodesToWrite, event.response_params, strict=False)
            if status.value in (ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadNotWritable)
        ]
        if bad:
            _refused(server, on_refused, _who(event.user), bad)

    server.subscribe_server_callback(CallbackType.PostWrite, post_write)
    logger.info("OPC UA server secured: Basic256Sha256 SignAndEncrypt only, %d trusted client(s), "
                "%d controller(s), %d supervisor(s), certificates from %s",
                len(trusted), len(controllers), len(supervisors), root)


# --------------------------------------------------------------------------- client side


async def secure_client(
    client: Client,
    certs: str | os.PathLike[str],
    identity: str = "controller",
    *,
    present_certificate: bool | None = None,
) -> None:
    """Set ``client`` up for the line server: Basic256Sha256 SignAndEncrypt as ``identity``.

    Call before ``await client.connect()``. The channel is signed and encrypted
    with ``<identity>/cert.der`` and ``<identity>/key.pem``
    (``Client.set_security``); the client's application URI is set to the
    certificate's; the server's certificate is pinned to ``line/cert.der``
    (a server with another certificate is refused) and checked for its time
    range, URI and server use.

    Parameters
    ----------
    client : asyncua.Client
        A client not yet connected.
    certs : path-like
        The folder :func:`make_certificates` wrote (the client needs its own
        certificate and key and ``line/cert.der``).
    identity : str
        ``controller``, ``supervisor`` or ``viewer`` (any subfolder holding
        ``cert.der`` and ``key.pem`` will do).
    present_certificate : bool, optional
        Present the certificate as the session's user identity (an X509
        identity token): the server lets it write when it is in the server's
        controller or supervisor list. Default: True for ``controller`` and
        ``supervisor``, False otherwise (an anonymous session, read-only).

    Raises
    ------
    CertificateFolderError
        The folder or one of its files is missing or unreadable.
    """
    root = _folder(certs)
    if not isinstance(identity, str) or not identity or "/" in identity or "\\" in identity \
            or identity.startswith("."):
        raise ValueError(f"identity {identity!r}: expected a name such as 'controller', 'supervisor' or 'viewer'")
    cert_path = _need(root / identity / _CERT, f"the certificate of identity {identity!r}")
    key_path = _check_key(_need(root / identity / _KEY, f"the private key of identity {identity!r}"))
    server_path = _need(root / "line" / _CERT, "the line server's certificate")
    cert = _load_cert(cert_path)
    _load_cert(server_path)
    client.application_uri = _uri(cert, cert_path)
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(cert_path),
        str(key_path),
        server_certificate=str(server_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    client.certificate_validator = CertificateValidator(
        CertificateValidatorOptions.EXT_VALIDATION | CertificateValidatorOptions.PEER_SERVER
    )
    if present_certificate is None:
        present_certificate = identity in (*_WRITERS, *_SUPERVISOR_IDS)
    if present_certificate:
        await client.load_client_certificate(str(cert_path))
        await client.load_private_key(key_path)
    else:
        client.user_certificate = None
        client.user_private_key = None
