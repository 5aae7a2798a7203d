"""A real SCIM 2.0 server on 127.0.0.1 for live-check tests: ``scim2-server`` behind a
bearer-token check, served over HTTPS with a self-signed certificate made here.

::

    with ScimServer(tokens=["right-token"]) as scim:
        scim.token           # the token it accepts
        scim.regenerate()    # accept a new token instead (the old one is dead); returns it
        scim.base_url        # https://127.0.0.1:<port>/v2
        scim.ca_file         # the certificate to trust (KEYVAULT_CHECK_CA_FILE)
        scim.requests        # (method, path, authorization header) of each request
        scim.stop()          # later requests find nothing listening

The server answers like any SCIM service provider: ``GET /v2/Users`` lists users with the
right token, 401 with another.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

#: Host names the test certificate is also valid for (tests point them at 127.0.0.1).
CERTIFICATE_NAMES = ("scim.test", "rebind.test", "dual.test")


def self_signed_certificate(directory: Path, *, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a self-signed certificate for ``host`` (an IP address) and ``CERTIFICATE_NAMES``,
    and its key; returns (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alternative_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(host))]
    alternative_names += [x509.DNSName(n) for n in CERTIFICATE_NAMES]
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(alternative_names),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "scim-cert.pem"
    key_file = directory / "scim-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


class ScimServer:
    """scim2-server's bearer-token application over HTTPS on a free port of 127.0.0.1."""

    def __init__(self, *, tokens: Iterable[str]) -> None:
        tokens = list(tokens)
        self.token = tokens[0] if tokens else ""
        self._dir = tempfile.TemporaryDirectory(prefix="kv-scim-")
        self.cert_file, key_file = self_signed_certificate(Path(self._dir.name))
        self.ca_file = str(self.cert_file)
        config = load_default_service_provider_config()
        config.authentication_schemes = [
            *(config.authentication_schemes or []),
            BEARER_TOKEN_SCHEME,
        ]
        provider = ScimProvider.from_discovery(
            load_default_schemas().values(), load_default_resource_types().values(), config=config
        )
        scim = BearerTokenApplication(InMemoryStorage(), provider, bearer_tokens=tokens)
        self._accepted: set[str] = scim.bearer_tokens  # empty would accept anything
        self.requests: list[tuple[str, str, str]] = []

        def recorded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            query = environ.get("QUERY_STRING", "")
            path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            self.requests.append(
                (environ["REQUEST_METHOD"], path, environ.get("HTTP_AUTHORIZATION", ""))
            )
            return scim(environ, start_response)

        self._server = make_server(
            "127.0.0.1", 0, recorded, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}/v2"
        self._thread: threading.Thread | None = None

    def regenerate(self, token: str | None = None) -> str:
        """Accept ``token`` (a new random one if None) and no other, as a vendor does when its
        admin regenerates the key; returns it."""
        self.token = token or "regenerated-" + secrets.token_urlsafe(24)
        self._accepted.clear()
        self._accepted.add(self.token)
        return self.token

    def start(self) -> ScimServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: later connections are refused."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ScimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._dir.cleanup()


class _FixedHandler(BaseHTTPRequestHandler):
    server: _FixedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        stub = self.server.stub
        stub.requests.append(self.path)
        if stub.delay:
            time.sleep(stub.delay)
        try:
            self.send_response(stub.status)
            for name, value in stub.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(stub.body)))
            self.end_headers()
            self.wfile.write(stub.body)
        except OSError:
            self.close_connection = True  # the client gave up first


class _FixedServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: FixedHttpsServer


class FixedHttpsServer:
    """An HTTPS server on 127.0.0.1 giving every GET the same answer (``status``, ``headers``,
    ``body``, after ``delay`` seconds); ``requests`` lists the paths asked for."""

    def __init__(
        self,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        delay: float = 0.0,
    ) -> None:
        self.status, self.headers, self.body, self.delay = status, headers or {}, body, delay
        self.requests: list[str] = []
        self._dir = tempfile.TemporaryDirectory(prefix="kv-https-")
        cert_file, key_file = self_signed_certificate(Path(self._dir.name))
        self.ca_file = str(cert_file)
        self._server = _FixedServer(("127.0.0.1", 0), _FixedHandler)
        self._server.stub = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FixedHttpsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._dir.cleanup()


def main() -> None:
    """``python -m tests.scim_server``: a SCIM server for trying live checks by hand."""
    token = "lab-" + secrets.token_urlsafe(24)
    with ScimServer(tokens=[token]) as server:
        shutil.copy(server.ca_file, "var/lab-scim-ca.pem")
        print(f"SCIM base URL: {server.base_url}\nAccepted token: {token}", flush=True)
        print(
            "Start keyvault with KEYVAULT_CHECK_ALLOW_LOOPBACK=1 "
            "KEYVAULT_CHECK_CA_FILE=var/lab-scim-ca.pem; Ctrl-C stops this server.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
