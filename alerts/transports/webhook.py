"""Generic webhook transport: a versioned JSON event signed per the Standard Webhooks spec.

Each POST carries ``webhook-id`` (the reminder's idempotency key: the same on every attempt, so
a receiver drops a resend), ``webhook-timestamp`` (this attempt, Unix seconds) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the channel's
``whsec_…`` secret), made by the ``standardwebhooks`` package; a receiver verifies with
``standardwebhooks.Webhook(secret).verify(body, headers)``. The body's schema is in the README
("Webhook channels") and built by ``alerts.messages``.

The endpoint URL and the signing secret are secrets: neither reaches a log line, an exception
message or ``repr``. See https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from alerts.transports.base import Notification, Transport, TransportError
from alerts.transports.http import Answer, NoAnswer, post_json
from alerts.transports.slack import retry_after_seconds, webhook_secrets

logger = logging.getLogger(__name__)

#: Seconds to connect and to wait for the receiver. The spec asks receivers to answer fast
#: and do their work afterwards; a slow one ties up a worker, and a timeout is retried.
TIMEOUT_SECONDS = 10
#: Longest part of the receiver's answer kept in a message.
MAX_BODY_CHARS = 160
SECRET_PREFIX = "whsec_"  # noqa: S105 -- the format's prefix, not a secret


def raise_for_response(answer: Answer | NoAnswer) -> None:
    """Return when the receiver accepted the event; raise ``TransportError`` saying why not.

    The one place that decides transient vs permanent for webhooks:

    - No answer (``NoAnswer``): timeouts, refused or broken connections, DNS or TLS trouble may
      pass: transient (after a timeout the receiver may have the event; the retry has the same
      ``webhook-id``, so it can drop it). A URL that cannot be requested at all is permanent.
    - 2xx: accepted — the spec's only success.
    - 429 (with ``Retry-After`` in seconds or as an HTTP date) and 408: the receiver asks for
      later: transient, no sooner than it said.
    - 5xx: the receiver's own trouble: transient.
    - Any other status (400; 401/403, e.g. the receiver holds an old signing secret; 404;
      410 Gone; a 3xx, since redirects are not followed): permanent. The spec lets a
      sender retry every failure, but these answers do not change until someone fixes the
      receiver or the channel, and retrying for hours only delays telling an admin (410 Gone
      says outright that the endpoint is gone for good).
    """
    if isinstance(answer, NoAnswer):
        raise TransportError(
            f"Could not reach the webhook: {answer.reason}.", permanent=answer.malformed
        )
    status = answer.status
    if 200 <= status < 300:
        return
    retry_after = retry_after_seconds(answer.header("Retry-After"))
    text = " ".join(answer.body.split())[:MAX_BODY_CHARS]
    detail = f" ({text})" if text else ""
    if status in (429, 408):
        wait = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        raise TransportError(
            f"The webhook asked to retry later (HTTP {status}){wait}.", retry_after=retry_after
        )
    if status >= 500:
        raise TransportError(
            f"The webhook answered HTTP {status}{detail}, a server-side error.",
            retry_after=retry_after,
        )
    raise TransportError(
        f"The webhook answered HTTP {status}{detail}. Check the receiver (URL, signing secret) "
        "and update the channel.",
        permanent=True,
    )


class WebhookTransport(Transport):
    """POSTs the notification's webhook event to one endpoint, signed with ``signing_secret``."""

    def __init__(self, *, url: str, signing_secret: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self._url = url
        self._secret = signing_secret
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookTransport(host={self.host!r})"

    @property
    def host(self) -> str:
        """The endpoint's host name (not secret; its path and query may be)."""
        return urlsplit(self._url).hostname or ""

    def secrets(self) -> tuple[str, ...]:
        bare = self._secret.removeprefix(SECRET_PREFIX)
        return (*webhook_secrets(self._url), self._secret, bare)

    def signed_headers(self, *, message_id: str, body: str, at: float) -> dict[str, str]:
        """The three Standard Webhooks headers for ``body`` sent at ``at`` (Unix time)."""
        try:
            signer = Webhook(self._secret)
        except Exception:  # malformed base64 or empty: the package raises several kinds
            raise TransportError(
                "The channel's signing secret is unusable; rotate it.", permanent=True
            ) from None
        timestamp = datetime.fromtimestamp(int(at), tz=UTC)
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at)),
            "webhook-signature": signer.sign(msg_id=message_id, timestamp=timestamp, data=body),
        }

    def _send(self, notification: Notification) -> None:
        """Sign and post the event; raises ``TransportError`` (see ``raise_for_response``)."""
        body = json.dumps(notification.webhook_event, ensure_ascii=False, separators=(",", ":"))
        # A reminder's id is its idempotency key (stable across retries); a test event has none
        # and gets a fresh one.
        message_id = notification.idempotency_key or f"kvt_{uuid.uuid4().hex}"
        # The timestamp is this attempt's: receivers refuse events older than a few minutes,
        # and a retry hours later must still verify.
        headers = self.signed_headers(message_id=message_id, body=body, at=time.time())
        outcome: Answer | NoAnswer
        try:
            outcome = post_json(
                url=self._url, body=body.encode("utf-8"), headers=headers, timeout=self.timeout
            )
        except NoAnswer as exc:
            outcome = exc
        raise_for_response(outcome)
        logger.info("webhook on %s accepted event %s", self.host, message_id)
