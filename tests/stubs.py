"""Local stand-ins for the outside services reminders talk to, on 127.0.0.1 with real sockets.

``SlackStub`` is a Slack-like incoming-webhook HTTP server; ``SmtpStub`` is an SMTP server
(aiosmtpd). Both bind a free port on 127.0.0.1, run in a background thread, record what they
receive, and can be told how to answer. Use them as context managers or through the ``slack`` and
``smtp`` fixtures of the root conftest::

    with SlackStub() as slack:
        slack.script((429, {"Retry-After": "2"}), (200, {}))
        url = slack.webhook_url()            # http://127.0.0.1:<port>/services/T0/B0/...
        ...
        assert len(slack.requests) == 2
        assert slack.requests[-1].json["text"] == "..."

    with SmtpStub() as smtp:
        smtp.refuse("550 5.1.1 No such user", stage="RCPT")
        ...
        assert smtp.messages == []

Scripted answers for the Slack stub (one consumed per request, in order; when the script is
empty the default answer, 200 ``ok``, is used):

- ``200`` or ``(200, {})`` or ``(429, {"Retry-After": "2"})`` or ``(404, {}, "no_service")``
- ``Reply(status, headers, body, hold=True)`` to keep that request open until ``release()``.

``hold()`` makes every request from now on wait until ``release()`` (for timeouts and for
killing a worker mid-send); ``delay = 0.3`` (or ``(0.0, 0.3)``, drawn per request) makes
every answer take that long (a slow provider); ``wait_for_requests(n)`` blocks until n
requests have arrived.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# Bodies Slack sends with each status when the script gives none.
_DEFAULT_BODIES = {
    200: "ok",
    400: "invalid_payload",
    403: "invalid_token",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``hold`` keeps the request open until ``SlackStub.release()``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    hold: bool = False

    @classmethod
    def of(cls, spec: Reply | int | tuple[Any, ...]) -> Reply:
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, int):
            return cls(spec)
        return cls(*spec)

    @property
    def text(self) -> str:
        return self.body if self.body is not None else _DEFAULT_BODIES.get(self.status, "error")


@dataclass(frozen=True)
class RecordedRequest:
    """What the stub received: method, path, headers (case as sent), raw body, parsed JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float  # time.monotonic()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _Handler(BaseHTTPRequestHandler):
    server: _StubHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        stub = self.server.stub
        reply = stub._record(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                body=body,
                json=parsed,
                received_at=time.monotonic(),
            )
        )
        if reply.hold or stub._holding:
            stub._wait_released()
        if stub.delay:
            low, high = stub.delay if isinstance(stub.delay, tuple) else (stub.delay, stub.delay)
            time.sleep(random.uniform(low, high))
        payload = reply.text.encode("utf-8")
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up (timeout) or died (killed worker) while the request was held.
            self.close_connection = True

    do_POST = do_GET = do_PUT = _handle


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: SlackStub


class SlackStub:
    """A Slack-like incoming-webhook server on 127.0.0.1:<free port>, in a thread."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._released = threading.Event()
        self._holding = False
        #: Seconds every answer takes (a slow provider), or a (low, high) range drawn per
        #: request; 0 answers at once.
        self.delay: float | tuple[float, float] = 0.0
        self._server: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self) -> SlackStub:
        self._server = _StubHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ---
    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stub first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def webhook_url(self, path: str = "/services/T0STUB/B0STUB/stubwebhooksecret0001") -> str:
        """A webhook URL on the stub; its last segment plays the part of Slack's secret."""
        return self.base_url + path

    # --- behaviour ---
    def script(self, *replies: Reply | int | tuple[Any, ...]) -> None:
        """Append answers for the next requests, in order (see the module docstring)."""
        with self._lock:
            self._script.extend(Reply.of(r) for r in replies)

    def hold(self) -> None:
        """Keep every request from now on open until ``release()``."""
        self._released.clear()
        self._holding = True

    def release(self) -> None:
        """Let held requests (and any later ones) answer."""
        self._holding = False
        self._released.set()

    def reset(self) -> None:
        """Forget recorded requests and the remaining script; stop holding."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
        self.release()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests have arrived; raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")
                self._arrived.wait(remaining)
            return list(self.requests)

    # --- used by the handler ---
    def _record(self, request: RecordedRequest) -> Reply:
        with self._arrived:
            self.requests.append(request)
            reply = self._script.pop(0) if self._script else Reply(200)
            if reply.hold:
                self._released.clear()
            self._arrived.notify_all()
            return reply

    def _wait_released(self) -> None:
        # Bounded so a forgotten release() cannot hang the test run forever.
        self._released.wait(timeout=120)


# --------------------------------------------------------------------------------------------
# SMTP


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: envelope sender and recipients, and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, content_type: str) -> str:
        """The decoded body of the first part of ``content_type`` (e.g. ``text/html``)."""
        for sub in self.message.walk():
            if sub.get_content_type() == content_type and not sub.is_multipart():
                assert isinstance(sub, EmailMessage)
                return str(sub.get_content())
        raise KeyError(content_type)


class _SmtpHandler:
    def __init__(self, stub: SmtpStub) -> None:
        self.stub = stub

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.stub._refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.stub._refusal("DATA")
        if refusal:
            return refusal
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        self.stub._accept(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                raw=content,
            )
        )
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand (port 0 = a free port)."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        self._sock = sock
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1])

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpStub:
    """An SMTP server on 127.0.0.1:<free port> that records messages and can refuse them.

    ``settings()`` gives the Django settings that point the SMTP backend at it (use with
    ``override_settings(**smtp.settings())`` or pytest-django's ``settings`` fixture).
    """

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._refusals: dict[str, tuple[str, int | None]] = {}
        self.refused = 0
        self._controller: _BoundController | None = None

    def start(self) -> SmtpStub:
        # aiosmtpd logs every SMTP command at INFO; keep test output readable.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._controller = _BoundController(_SmtpHandler(self), sock)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._controller is not None, "start() the server first"
        return int(self._controller.port)

    def settings(self) -> dict[str, Any]:
        """Django email settings for this server (plain SMTP, no auth, short timeout)."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 5,
        }

    @property
    def email_url(self) -> str:
        """The same server as an ``EMAIL_URL`` (for real worker processes)."""
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(
        self,
        reply: str = "550 5.1.1 Mailbox unavailable",
        *,
        stage: str = "RCPT",
        times: int | None = None,
    ) -> None:
        """Answer ``reply`` at ``stage`` ("RCPT" or "DATA"); ``times=None`` means until
        ``accept()``. Use a 4xx reply (e.g. "421 4.3.0 Try again later") for a temporary
        refusal and 5xx for a permanent one."""
        assert stage in ("RCPT", "DATA")
        with self._lock:
            self._refusals[stage] = (reply, times)

    def accept(self) -> None:
        """Stop refusing."""
        with self._lock:
            self._refusals.clear()

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages were accepted; raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {count} messages arrived")
                self._arrived.wait(remaining)
            return list(self.messages)

    def _refusal(self, stage: str) -> str | None:
        with self._lock:
            entry = self._refusals.get(stage)
            if entry is None:
                return None
            reply, times = entry
            if times is not None:
                if times <= 1:
                    del self._refusals[stage]
                else:
                    self._refusals[stage] = (reply, times - 1)
            self.refused += 1
            return reply

    def _accept(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self.messages.append(mail)
            self._arrived.notify_all()


__all__ = [
    "ReceivedMail",
    "RecordedRequest",
    "Reply",
    "SlackStub",
    "SmtpStub",
]
