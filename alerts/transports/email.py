"""Email transport: Django's mail API, a plain-text body with an HTML alternative.

The backend is whatever ``EMAIL_URL`` configured (SMTP in production, console or file in
development). Any failure to hand the message to the mail server is transient: SMTP servers
refuse temporarily (greylisting, 4xx, a restart) far more often than for good, and the outbox
retries with backoff before marking the reminder failed. Only "nobody to send to" is permanent.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from alerts.transports.base import Notification, Transport, TransportError

if TYPE_CHECKING:
    from alerts.models import Channel
    from keyvault.models import Integration

logger = logging.getLogger(__name__)

#: Seconds to wait on the mail server when ``EMAIL_TIMEOUT`` is not set (Django's default is
#: to wait forever, which would hang a worker on a silent server).
DEFAULT_TIMEOUT_SECONDS = 15

_SEPARATORS = re.compile(r"[,;\s]+")


def split_addresses(raw: str) -> list[str]:
    """Addresses from a comma-, semicolon- or whitespace-separated list, in order, deduplicated
    (case-insensitively), blanks dropped. Does not validate them."""
    seen: set[str] = set()
    out: list[str] = []
    for part in _SEPARATORS.split(raw or ""):
        address = part.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def message_id(key: str) -> str:
    """An RFC 5322 Message-ID for a reminder key, under the site's host name."""
    host = urlsplit(settings.SITE_URL).hostname or "keyvault.invalid"
    return f"<{key}@{host}>"


class EmailTransport(Transport):
    """Sends one message (text + HTML) to a fixed list of recipients."""

    def __init__(self, *, recipients: Iterable[str], empty_reason: str = "") -> None:
        self.recipients = split_addresses(",".join(recipients))
        # Why the list is empty when it is (said to the admin instead of a bare "no recipients").
        self._empty_reason = empty_reason

    def __repr__(self) -> str:
        return f"EmailTransport(recipients={len(self.recipients)})"

    @classmethod
    def for_channel(cls, channel: Channel, *, integration: Integration | None) -> EmailTransport:
        """The channel's own addresses, plus the integration owner's when the channel says so."""
        addresses = split_addresses(channel.email_recipients)
        reason = ""
        if channel.email_to_owner:
            owner_email = (integration.owner_email if integration is not None else "").strip()
            if owner_email:
                addresses.append(owner_email)
            elif integration is None:
                reason = (
                    "This channel sends to each integration's owner and has no addresses of its"
                    " own, so a test has nobody to go to; add an address to test it."
                )
            else:
                reason = f"The integration “{integration.name}” has no owner email address."
        return cls(recipients=addresses, empty_reason=reason)

    def secrets(self) -> tuple[str, ...]:
        """The SMTP password: a server's refusal may quote the AUTH exchange."""
        password = str(getattr(settings, "EMAIL_HOST_PASSWORD", "") or "")
        return (password,) if password else ()

    def _send(self, notification: Notification) -> None:
        """Hand the message to the configured mail backend; raises ``TransportError``."""
        if not self.recipients:
            raise TransportError(
                self._empty_reason or "This channel has no email recipients.", permanent=True
            )
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_TIMEOUT_SECONDS
        connection = get_connection(fail_silently=False, timeout=timeout)
        message = EmailMultiAlternatives(
            subject=notification.subject,
            body=notification.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.recipients,
            connection=connection,
            headers={
                # Tell mail systems not to auto-reply (RFC 3834) to a machine-sent reminder.
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
            },
        )
        if notification.idempotency_key:
            # The same Message-ID on every attempt: a mail system that deduplicates on it
            # delivers a resend once.
            message.extra_headers["Message-ID"] = message_id(notification.idempotency_key)
        message.attach_alternative(notification.html, "text/html")
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = "; ".join(
                f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items()
            )
            raise TransportError(f"The mail server refused the recipients ({replies}).") from None
        except smtplib.SMTPResponseException as exc:
            raise TransportError(
                f"The mail server answered {exc.smtp_code} {_text(exc.smtp_error)}."
            ) from None
        except smtplib.SMTPException as exc:
            raise TransportError(f"Sending mail failed ({_text(exc)}).") from None
        except TimeoutError:
            raise TransportError(f"The mail server did not answer within {timeout} s.") from None
        except OSError as exc:
            what = exc.strerror or type(exc).__name__
            raise TransportError(f"Could not connect to the mail server ({what}).") from None
        logger.info(
            "reminder email handed to the mail backend for %d recipients", len(self.recipients)
        )


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).strip()[:200]
