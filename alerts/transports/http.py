"""One JSON POST over HTTP(S) for the transports that talk plain HTTP (Teams, webhook).

``post_json`` returns the provider's answer whatever its status, or raises ``NoAnswer`` when
there was none (timeout, refused connection, TLS or DNS failure, a URL that cannot be
requested). It decides nothing: whether a status or a missing answer is worth retrying is the
calling transport's call, in its own ``raise_for_response``. Redirects are not followed (a
webhook that moved must be updated by an admin, and a POST must not be replayed to another
host). Neither the answer nor ``NoAnswer`` carries the URL.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Longest part of an answer's body kept (a proxy may send a whole page).
MAX_BODY_BYTES = 4096
USER_AGENT = "keyvault-reminders/1"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (names lower-cased), and the start of the body."""

    status: int
    headers: Mapping[str, str]
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class NoAnswer(Exception):
    """No HTTP answer came back. ``reason`` says why in words (never the URL);
    ``timed_out``: the request may have been received; ``malformed``: the URL cannot be
    requested at all, so trying again cannot help."""

    def __init__(self, reason: str, *, timed_out: bool = False, malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.malformed = malformed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is handed back as an HTTPError, i.e. as an answer


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(*, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Answer:
    """POST ``body`` (JSON) to ``url``; returns the answer of any status, raises ``NoAnswer``."""
    request = urllib.request.Request(  # noqa: S310 -- the scheme was validated as http(s)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **headers,
        },
    )
    try:
        if request.type not in ("http", "https"):
            raise NoAnswer("The URL is not an http(s) URL.", malformed=True)
        with _opener.open(request, timeout=timeout) as response:
            return _answer(response.status, response.headers, response.read(MAX_BODY_BYTES))
    except urllib.error.HTTPError as exc:
        with exc:
            return _answer(exc.code, exc.headers, exc.read(MAX_BODY_BYTES))
    except urllib.error.URLError as exc:
        raise _no_answer(exc.reason) from None
    except (http.client.InvalidURL, ValueError):
        raise NoAnswer("The URL is malformed.", malformed=True) from None
    except (http.client.HTTPException, OSError) as exc:
        raise _no_answer(exc) from None


def _answer(status: int, headers: Any, raw: bytes) -> Answer:
    names = {str(k).lower(): str(v) for k, v in (headers.items() if headers else ())}
    return Answer(status=status, headers=names, body=raw.decode("utf-8", errors="replace"))


def _no_answer(reason: object) -> NoAnswer:
    """Name the network problem in words; never the URL (exception texts can quote it)."""
    if isinstance(reason, TimeoutError | socket.timeout):
        return NoAnswer("no answer in time (timed out)", timed_out=True)
    if isinstance(reason, socket.gaierror):
        return NoAnswer("its host name could not be resolved")
    if isinstance(reason, ssl.SSLError):
        return NoAnswer(f"TLS failed ({reason.reason or type(reason).__name__})")
    if isinstance(reason, http.client.HTTPException):
        # The request was sent and the connection broke before a full answer.
        return NoAnswer(f"the connection broke ({type(reason).__name__})", timed_out=True)
    if isinstance(reason, OSError):
        return NoAnswer(f"could not connect ({reason.strerror or type(reason).__name__})")
    return NoAnswer("could not connect")
