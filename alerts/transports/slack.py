"""Slack incoming-webhook transport (``slack_sdk``'s ``WebhookClient``), Block Kit messages.

Retries inside one ``send``: a 429 is waited out when Slack's ``Retry-After`` is short, and a
connection that could not be made is tried once more. Everything else that may succeed later
(a 5xx, a timeout, a 429 still standing or asking for a long wait) is raised as a transient
``TransportError`` so the delivery task retries it with backoff, without holding a worker.

The webhook URL is a secret: it never reaches a log line, an exception message or ``repr``.
"""

from __future__ import annotations

import http.client
import logging
import random
import time
import urllib.error
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryState,
)
from slack_sdk.webhook import WebhookClient, WebhookResponse

from alerts.transports.base import Notification, Transport, TransportError

logger = logging.getLogger(__name__)

#: Seconds to connect and to wait for Slack's answer. Slack answers in well under a second;
#: a longer wait only ties up a worker, and the task retries a timeout later.
TIMEOUT_SECONDS = 10
#: 429 answers waited out inside one send, and the longest single wait; beyond either the
#: 429 is returned to the caller with its ``retry_after``.
RATE_LIMIT_RETRIES = 2
MAX_INLINE_WAIT_SECONDS = 10.0
#: Longest provider error text kept in a message (Slack sends a short code such as
#: ``no_service``; a proxy may send a whole page).
MAX_BODY_CHARS = 120

# slack_sdk logs the full request URL at DEBUG and exception texts (which can quote the URL) at
# ERROR. Give it a logger that emits nothing, so the webhook URL cannot reach a log whatever the
# project's logging level is.
_sdk_logger = logging.getLogger("alerts.transports.slack.sdk")
_sdk_logger.setLevel(logging.CRITICAL + 10)
_sdk_logger.propagate = False
_sdk_logger.addHandler(logging.NullHandler())


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay seconds or an HTTP date. None when absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(int(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            # slack_sdk's retry handlers see list values; its responses see plain strings.
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None


class _RateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting Retry-After in either form and only when it is short.

    The stock handler raises ``ValueError`` on an HTTP-date Retry-After and would sleep for any
    length Slack asks. Here a long wait is not taken: no next attempt is requested, so the
    client returns the 429 and ``raise_for_response`` hands its ``retry_after`` to the task.
    """

    def __init__(self, *, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # only 429 answers reach this handler
            return
        delay = retry_after_seconds(_header(response.headers, "Retry-After"))
        if delay is None:
            delay = 1.0
        if delay > self.max_wait:
            return
        # A little jitter so several workers rate-limited together do not return in lockstep.
        time.sleep(delay + random.uniform(0, 0.25))
        state.next_attempt_requested = True
        state.increment_current_attempt()


# Error codes Slack puts in the body of a failed webhook call that mean the webhook itself is
# unusable; see https://api.slack.com/messaging/webhooks#handling_errors and the list in
# https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
_PERMANENT_CODES = {
    "no_service": "the webhook was removed or its app disabled",
    "invalid_token": "the webhook's token is invalid",
    "no_team": "the workspace no longer exists",
    "team_disabled": "the workspace is disabled",
    "channel_not_found": "its Slack channel no longer exists",
    "channel_is_archived": "its Slack channel is archived",
    "action_prohibited": "the workspace does not allow this webhook to post there",
    "posting_to_general_channel_denied": "only admins may post in that channel",
    "invalid_payload": "Slack rejected the message format",
    "user_not_found": "the user it posts to no longer exists",
}


def raise_for_response(response: WebhookResponse) -> None:
    """Return when Slack accepted the message; raise ``TransportError`` saying why not.

    The one place that decides transient vs permanent for Slack:

    - 2xx: delivered (Slack says ``ok``; Slack-compatible services may say something else).
    - 429: rate limited (retries inside the send are exhausted, or Slack asked for a long
      wait): transient, with ``retry_after`` from the header.
    - 5xx: Slack's own trouble (it reserves 500 for "not your fault"): transient.
    - Any other status, and in particular 404 ``no_service`` / ``channel_not_found``,
      403 ``invalid_token`` / ``action_prohibited``, 410 ``channel_is_archived`` and
      400 ``invalid_payload``: permanent. Slack documents these as the webhook, its channel or
      the payload being unusable (links above); sending the same message to the same URL again
      gives the same answer, so retrying would only delay telling an admin to fix the channel.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    body = (response.body or "").strip()
    code = body[:MAX_BODY_CHARS]
    retry_after = retry_after_seconds(_header(response.headers or {}, "Retry-After"))
    if status == 429:
        raise TransportError(
            f"Slack rate limit (HTTP 429){_wait_note(retry_after)}.",
            retry_after=retry_after,
        )
    if status >= 500:
        raise TransportError(
            f"Slack answered HTTP {status} {code}".rstrip() + ", a server-side error.",
            retry_after=retry_after,
        )
    reason = _PERMANENT_CODES.get(code, "")
    detail = f"{code}: {reason}" if reason else (code or "no explanation")
    raise TransportError(
        f"Slack answered HTTP {status} ({detail}). Check the webhook and update the channel.",
        permanent=True,
    )


def _wait_note(retry_after: float | None) -> str:
    return f"; retry after {retry_after:.0f} s" if retry_after is not None else ""


def webhook_secrets(url: str) -> tuple[str, ...]:
    """What makes a webhook URL a credential, for redaction: the URL, its path and query (the
    host is public: it is in the channel's hint)."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return tuple(s for s in (url, parts.path + query, parts.query) if s.strip("/?"))


class SlackTransport(Transport):
    """Posts a Block Kit message to one Slack incoming webhook."""

    def __init__(
        self,
        *,
        webhook_url: str,
        timeout: int = TIMEOUT_SECONDS,
        rate_limit_retries: int = RATE_LIMIT_RETRIES,
        max_inline_wait: float = MAX_INLINE_WAIT_SECONDS,
    ) -> None:
        self._url = webhook_url
        self.timeout = timeout
        self._client = WebhookClient(
            url=webhook_url,
            timeout=timeout,
            logger=_sdk_logger,
            retry_handlers=[
                # A refused or reset connection: nothing was delivered, one quick retry.
                ConnectionErrorRetryHandler(max_retry_count=1),
                _RateLimitHandler(max_retry_count=rate_limit_retries, max_wait=max_inline_wait),
            ],
        )

    def __repr__(self) -> str:
        return f"SlackTransport(host={self.host!r})"

    @property
    def host(self) -> str:
        """The webhook's host name (not secret; the path is)."""
        return urlsplit(self._url).hostname or ""

    def secrets(self) -> tuple[str, ...]:
        return webhook_secrets(self._url)

    def _send(self, notification: Notification) -> None:
        """Post the notification; raises ``TransportError`` (see ``raise_for_response``)."""
        try:
            response = self._client.send(
                text=notification.slack_text,
                blocks=notification.slack_blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except TimeoutError:
            # Slack may have received the message; the task retries (at worst one duplicate).
            raise TransportError(
                f"No answer from Slack within {self.timeout} s (timed out)."
            ) from None
        except urllib.error.URLError as exc:
            raise _connection_error(exc.reason) from None
        except http.client.InvalidURL:
            raise TransportError("The webhook URL is malformed.", permanent=True) from None
        except (http.client.HTTPException, ConnectionError) as exc:
            raise TransportError(
                f"The connection to Slack failed ({type(exc).__name__})."
            ) from None
        except SlackRequestError:
            # Its message quotes the URL: replaced by ours.
            raise TransportError("The webhook URL is not an http(s) URL.", permanent=True) from None
        except ValueError:
            raise TransportError("The webhook URL is malformed.", permanent=True) from None
        except OSError as exc:
            raise _connection_error(exc) from None
        raise_for_response(response)
        logger.info("Slack webhook on %s accepted a message", self.host)


def _connection_error(reason: object) -> TransportError:
    """A transient error naming the network problem, never the URL."""
    if isinstance(reason, TimeoutError):
        return TransportError("Could not connect to Slack in time (timed out).")
    if isinstance(reason, OSError):
        what = reason.strerror or type(reason).__name__
        return TransportError(f"Could not connect to Slack ({what}).")
    return TransportError("Could not connect to Slack.")
