"""What every reminder transport shares: the message, the error, the interface.

A transport sends one ``Notification`` to one channel and either returns (delivered) or raises
``TransportError``. Whether a failure is worth retrying is decided by the transport that
understands the provider's answer (``permanent``); the caller owns retries and backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keyvault.vault.leaks import redact

if TYPE_CHECKING:
    from alerts.models import Channel
    from keyvault.models import Integration


@dataclass(frozen=True)
class Notification:
    """What a reminder says, in every form a transport needs. Holds no secret.

    ``slack_blocks`` is Block Kit JSON; ``slack_text`` is its plain fallback (notifications,
    screen readers and clients that cannot render blocks). ``teams_message`` is the Workflows
    webhook body (a ``message`` with one Adaptive Card attachment); ``webhook_event`` is the
    versioned JSON event of webhook channels (schema in the README).
    """

    subject: str
    text: str
    html: str
    slack_blocks: list[dict[str, Any]]
    slack_text: str
    #: Stable per reminder (``Reminder.idempotency_key``); empty for a test notification.
    idempotency_key: str = ""
    teams_message: dict[str, Any] = field(default_factory=dict)
    webhook_event: dict[str, Any] = field(default_factory=dict)


class TransportError(Exception):
    """A notification was not delivered.

    ``message`` says why in words an admin can act on and never contains a secret (no webhook
    URL, no token). ``permanent`` means retrying the same send cannot succeed (the webhook was
    removed, no recipients); otherwise the failure is transient and may be retried, no sooner
    than ``retry_after`` seconds when the provider said so.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"TransportError({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after})"
        )


class Transport:
    """Sends notifications to one channel. One subclass per ``ChannelKind``: it implements
    ``_send`` and names the channel's secrets in ``secrets``."""

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``; returns when the provider accepted it.

        Raises ``TransportError`` (permanent or transient) otherwise, its message redacted of
        every secret of the channel: providers' answers are quoted in it, and a server that
        echoes its request would otherwise put the webhook URL on the channel page and in the
        audit log. Does network I/O: never call it inside ``transaction.atomic()``.
        """
        try:
            self._send(notification)
        except TransportError as exc:
            message = redact(exc.message, self.secrets())
            if message == exc.message:
                raise
            raise TransportError(
                message, permanent=exc.permanent, retry_after=exc.retry_after
            ) from None

    def _send(self, notification: Notification) -> None:
        raise NotImplementedError

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an error message (e.g. the webhook URL's path)."""
        return ()


def transport_for(channel: Channel, *, integration: Integration | None) -> Transport:
    """The transport that delivers to ``channel`` about ``integration`` (None for a test).

    Decrypts the channel's secret here, at the last moment; raises ``TransportError``
    (permanent) when the channel cannot be used as configured (no webhook, undecryptable
    webhook, unknown kind).
    """
    # Imported here: the concrete transports import this module.
    from alerts.models import ChannelKind
    from alerts.transports.email import EmailTransport
    from alerts.transports.slack import SlackTransport
    from alerts.transports.teams import TeamsTransport
    from alerts.transports.webhook import WebhookTransport

    if channel.kind == ChannelKind.SLACK:
        return SlackTransport(webhook_url=_unsealed(channel, "webhook_ciphertext", "webhook URL"))
    if channel.kind == ChannelKind.TEAMS:
        return TeamsTransport(webhook_url=_unsealed(channel, "webhook_ciphertext", "webhook URL"))
    if channel.kind == ChannelKind.WEBHOOK:
        return WebhookTransport(
            url=_unsealed(channel, "webhook_ciphertext", "webhook URL"),
            signing_secret=_unsealed(channel, "signing_secret_ciphertext", "signing secret"),
        )
    if channel.kind == ChannelKind.EMAIL:
        return EmailTransport.for_channel(channel, integration=integration)
    raise TransportError(f"Unknown channel kind {channel.kind!r}.", permanent=True)


def _unsealed(channel: Channel, column: str, what: str) -> str:
    """A channel's secret, decrypted; raises a permanent ``TransportError`` when it is missing
    or cannot be decrypted."""
    from keyvault.crypto.cipher import CryptoError

    try:
        value = channel.unseal(column)
    except CryptoError as exc:
        raise TransportError(f"The {what} cannot be decrypted ({exc}).", permanent=True) from None
    if not value:
        raise TransportError(f"This channel has no {what}.", permanent=True)
    return value
