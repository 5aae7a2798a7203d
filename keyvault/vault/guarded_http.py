"""One HTTPS GET to a URL an admin typed, guarded against server-side request forgery.

A live check sends a stored key to a URL that came from a form. Without care that URL could
aim keyvault at itself, the cloud metadata service or anything else on the private network,
with the key attached. So ``guarded_get``:

- accepts ``https://`` only, without user name or password in the URL;
- resolves the host once and refuses it unless every address is public: no loopback, private,
  link-local, multicast, reserved or unspecified address, also when written as an IPv4-mapped,
  6to4, Teredo or NAT64 IPv6 address (``KEYVAULT_CHECK_ALLOW_LOOPBACK`` lets exactly 127.0.0.1
  through, for tests and labs);
- connects to the addresses it checked, the first that answers (never resolving again, so a
  name that changes its answer between the check and the connection — DNS rebinding — cannot
  swap them) while verifying the certificate for the host name;
- never follows a redirect (a 3xx is an answer like any other);
- gives up after ``KEYVAULT_CHECK_TIMEOUT_SECONDS`` in all (10 s by default);
- reads at most ``MAX_BODY_BYTES`` of the answer, which the caller must not store.

It raises ``Refused`` when the URL is not one keyvault calls, ``NoAnswer`` when no HTTP answer
came. Neither message quotes the URL or the headers.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

#: The most of an answer's body read; the rest is left unread.
MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "keyvault-live-check/1"
_LAB_ADDRESS = ipaddress.IPv4Address("127.0.0.1")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """keyvault will not call this URL; the message says why (never the URL)."""


class NoAnswer(Exception):
    """No HTTP answer came back; the message names the network problem (never the URL)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and the first ``MAX_BODY_BYTES`` of its body."""

    status: int
    body: bytes

    def __repr__(self) -> str:
        return f"Answer(status={self.status}, body=<{len(self.body)} bytes>)"


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (``addresses``, all checked, tried in order) and what to
    ask for there."""

    host: str
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str:
    """Why keyvault will not connect to ``ip`` ("" when it may): "loopback", "private", …"""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # The lab exception is for 127.0.0.1 as written, not for its IPv6 spellings.
            reason = address_refusal(embedded)
            return f"{reason} (written as IPv6)" if reason else ""
    if allow_loopback and ip == _LAB_ADDRESS:
        return ""
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not public", not ip.is_global),
    ):
        if flag:
            return reason
    return ""


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise NoAnswer("its host name could not be resolved") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise NoAnswer("its host name could not be resolved")
    return addresses


@sensitive_variables("url", "parts")
def target_vet(url: str) -> Target:
    """Check ``url`` and resolve its host once; returns where to connect.

    Raises ``Refused`` (not https, user info, no host, an address that is not public) or
    ``NoAnswer`` (the name does not resolve).
    """
    try:
        parts = urlsplit(url)
        port = parts.port or 443
        host = parts.hostname or ""
    except ValueError:
        raise Refused("the URL is malformed") from None
    if parts.scheme.lower() != "https":
        raise Refused("only https:// URLs are called")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL carries a user name or password")
    if not host or any(ch.isspace() for ch in url):
        raise Refused("the URL is malformed")
    allow_loopback = bool(settings.KEYVAULT_CHECK_ALLOW_LOOPBACK)
    addresses = _resolve(host, port)
    for ip in addresses:
        reason = address_refusal(ip, allow_loopback=allow_loopback)
        if reason:
            raise Refused(f"its address is {reason}; keyvault calls public addresses only")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(host=host, port=port, path=path, addresses=tuple(str(a) for a in addresses))


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    extra = settings.KEYVAULT_CHECK_CA_FILE
    if extra:
        try:
            context.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError):
            # Also reported by ``manage.py check`` (keyvault.E010).
            raise NoAnswer("the extra CA file (KEYVAULT_CHECK_CA_FILE) cannot be read") from None
    return context


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to the vetted addresses only (the first that takes the connection),
    verifying the certificate for ``host``."""

    def __init__(
        self, target: Target, *, context: ssl.SSLContext, timeout: float, deadline: float
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._addresses = target.addresses
        self._tls = context
        self._deadline = deadline

    def _connect_any(self) -> socket.socket:
        """The first address that takes the connection; each waits its share of the time
        left, so an IPv6 address without a route does not cost the IPv4 one its chance."""
        failure: OSError = OSError("no address")
        for index, address in enumerate(self._addresses):
            share = (self._deadline - time.monotonic()) / (len(self._addresses) - index)
            try:
                return socket.create_connection((address, self.port), max(0.01, share))
            except OSError as exc:  # TimeoutError included: try the next one
                failure = exc
        raise failure

    def connect(self) -> None:
        sock = self._connect_any()
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _read_capped(
    response: http.client.HTTPResponse, *, deadline: float, sock: socket.socket
) -> bytes:
    body = b""
    while len(body) < MAX_BODY_BYTES:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = response.read1(MAX_BODY_BYTES - len(body))
        if not chunk:
            break
        body += chunk
    return body


@sensitive_variables("url", "headers", "target")
def guarded_get(url: str, *, headers: Mapping[str, str]) -> Answer:
    """GET ``url`` with ``headers`` under the rules above; returns the answer of any status.

    Raises ``Refused`` or ``NoAnswer``.
    """
    target = target_vet(url)
    timeout = float(settings.KEYVAULT_CHECK_TIMEOUT_SECONDS)
    deadline = time.monotonic() + timeout
    connection = _PinnedHTTPSConnection(
        target, context=_tls_context(), timeout=timeout, deadline=deadline
    )
    try:
        connection.request(
            "GET",
            target.path,
            headers={"User-Agent": USER_AGENT, "Accept": "application/scim+json", **headers},
        )
        # Kept: the connection lets go of its socket when the answer says it will close.
        sock = connection.sock
        assert sock is not None
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        response = connection.getresponse()
        body = _read_capped(response, deadline=deadline, sock=sock)
        return Answer(status=response.status, body=body)
    except TimeoutError:
        raise NoAnswer(f"no answer within {timeout:g} s") from None
    except ssl.SSLCertVerificationError as exc:
        raise NoAnswer(f"its TLS certificate is not trusted ({exc.verify_message})") from None
    except ssl.SSLError as exc:
        raise NoAnswer(f"TLS failed ({exc.reason or type(exc).__name__})") from None
    except ConnectionRefusedError:
        raise NoAnswer("the connection was refused (nothing listens there)") from None
    except http.client.HTTPException as exc:
        raise NoAnswer(f"the answer was not HTTP ({type(exc).__name__})") from None
    except OSError as exc:
        raise NoAnswer(f"could not connect ({exc.strerror or type(exc).__name__})") from None
    except ValueError:
        # http.client refuses control characters in headers and non-ASCII in the path; its
        # message quotes them.
        raise NoAnswer(
            "the request could not be made (invalid characters in the URL or key)"
        ) from None
    finally:
        connection.close()
