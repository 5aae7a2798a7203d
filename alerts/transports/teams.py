"""Microsoft Teams transport: an Adaptive Card posted to a Workflows incoming webhook.

Office 365 connectors ("Incoming Webhook" on *.webhook.office.com) are retired; Teams now
receives webhooks through a Power Automate / Workflows flow started by "When a Teams webhook
request is received", whose URL carries its own signature (``sig=…``) and is therefore a
credential: it never reaches a log line, an exception message or ``repr``.

The flow accepts a ``message`` with Adaptive Card attachments and answers 202 Accepted at once;
it posts the card afterwards. A 2xx therefore means "the flow took it", not "it is in the
channel": a flow that fails later (its connection to Teams expired, the bot was removed from the
channel) shows that in the flow's run history only.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

from alerts.transports.base import Notification, Transport, TransportError
from alerts.transports.http import Answer, NoAnswer, post_json
from alerts.transports.slack import retry_after_seconds, webhook_secrets

logger = logging.getLogger(__name__)

#: Seconds to connect and to wait for the flow's answer (it answers 202 before running).
TIMEOUT_SECONDS = 10
#: Longest provider error text kept in a message.
MAX_BODY_CHARS = 160

_ERROR_CODE = re.compile(r'"code"\s*:\s*"([A-Za-z0-9_.-]{1,80})"')


def raise_for_response(answer: Answer | NoAnswer) -> None:
    """Return when the flow accepted the card; raise ``TransportError`` saying why not.

    The one place that decides transient vs permanent for Teams:

    - No answer (``NoAnswer``): a timeout, a refused or broken connection, DNS or TLS trouble
      may pass: transient (after a timeout the card may have been posted, so the retry can
      duplicate it: the reminder key in its footer tells the copies apart). A URL that cannot
      be requested at all is permanent.
    - 2xx: accepted (Workflows answers 202).
    - 429: Power Automate throttles a flow's trigger and says when to come back in
      ``Retry-After`` (seconds or an HTTP date): transient, no sooner than that.
    - 5xx: the service's own trouble (a 502/503 while the region fails over): transient.
    - 408: the service gave up waiting for our request: transient, like a timeout.
    - Any other status: permanent. 404 ``WorkflowNotFound`` (the flow was deleted), 401/403
      (the ``sig`` is wrong or the flow's trigger now requires sign-in), 409
      ``WorkflowTriggerIsNotEnabled`` (the flow is turned off), 400 (the flow rejected the
      message), and a 3xx (redirects are not followed): the same request to the same URL gets
      the same answer until someone fixes the flow or the channel, so retrying only delays
      telling an admin. See
      https://learn.microsoft.com/en-us/power-automate/limits-and-config#request-limits and
      https://learn.microsoft.com/en-us/azure/logic-apps/logic-apps-http-endpoint (the
      "When a HTTP request is received" trigger Workflows webhooks are built on) and
      https://support.microsoft.com/office/8ae491c7-0394-4861-ba59-055e33f75498 (creating the
      Teams webhook with Workflows).
    """
    if isinstance(answer, NoAnswer):
        raise TransportError(f"Could not reach Teams: {answer.reason}.", permanent=answer.malformed)
    status = answer.status
    if 200 <= status < 300:
        return
    retry_after = retry_after_seconds(answer.header("Retry-After"))
    detail = _detail(answer.body)
    if status == 429:
        wait = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        raise TransportError(f"Teams rate limit (HTTP 429){wait}.", retry_after=retry_after)
    if status >= 500 or status == 408:
        raise TransportError(
            f"Teams answered HTTP {status}{detail}, a server-side error.", retry_after=retry_after
        )
    raise TransportError(
        f"Teams answered HTTP {status}{detail}. Check the Workflows flow (is it on? was it "
        "deleted?) and update the channel's webhook URL.",
        permanent=True,
    )


def _detail(body: str) -> str:
    """The Workflows error code (``{"error": {"code": "WorkflowNotFound", …}}``) or the start
    of the body, for the admin."""
    text = body.strip()
    if not text:
        return ""
    match = _ERROR_CODE.search(text)
    if match:
        return f" ({match.group(1)})"
    return f" ({' '.join(text.split())[:MAX_BODY_CHARS]})"


class TeamsTransport(Transport):
    """Posts the notification's Adaptive Card message to one Workflows webhook."""

    def __init__(self, *, webhook_url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self._url = webhook_url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TeamsTransport(host={self.host!r})"

    @property
    def host(self) -> str:
        """The webhook's host name (not secret; its path and ``sig`` are)."""
        return urlsplit(self._url).hostname or ""

    def secrets(self) -> tuple[str, ...]:
        return webhook_secrets(self._url)

    def _send(self, notification: Notification) -> None:
        """Post the card; raises ``TransportError`` (see ``raise_for_response``)."""
        body = json.dumps(notification.teams_message, ensure_ascii=False).encode("utf-8")
        outcome: Answer | NoAnswer
        try:
            outcome = post_json(url=self._url, body=body, headers={}, timeout=self.timeout)
        except NoAnswer as exc:
            outcome = exc
        raise_for_response(outcome)
        logger.info("Teams webhook on %s accepted a card", self.host)
