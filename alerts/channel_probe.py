"""*Send test notification*: deliver a test message to a channel now and audit the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from alerts.messages import test_notification
from alerts.models import Channel, ChannelKind
from alerts.transports.base import TransportError, transport_for
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction


@dataclass(frozen=True)
class TestResult:
    """Outcome of a test notification: ``ok``, or the transport's exact error message."""

    ok: bool
    message: str
    permanent: bool = False
    #: Said with a success that is not what it seems (a development mail backend).
    note: str = ""

    __test__ = False  # not a pytest test class


def _dev_mail_note(channel: Channel) -> str:
    """With a development mail backend nothing leaves the machine: say where the test went."""
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else ""
    if channel.kind == ChannelKind.EMAIL and backend in {"console", "filebased", "locmem"}:
        where = {
            "console": "printed on the console of the process that sent it",
            "filebased": "written to the mail folder",
            "locmem": "kept in memory",
        }[backend]
        return f"The test email was {where} (a development mail backend): it was not sent."
    return ""


def channel_send_test(
    *, channel: Channel, actor: Any, now: datetime, ip: str | None = None
) -> TestResult:
    """Send a test notification now (synchronously) and audit the outcome.

    The send happens outside any transaction; the audit event (``CHANNEL_TESTED`` with
    ``ok`` and, on failure, the error) is written afterwards. Never raises for a failed send:
    the failure is the result.
    """
    try:
        transport_for(channel, integration=None).send(test_notification(channel=channel, now=now))
    except TransportError as exc:
        result = TestResult(ok=False, message=exc.message, permanent=exc.permanent)
    else:
        result = TestResult(
            ok=True, message="The test notification was delivered.", note=_dev_mail_note(channel)
        )
    audit_append(
        action=AuditAction.CHANNEL_TESTED,
        now=now,
        actor=actor,
        target=channel,
        ip=ip,
        details={
            "ok": result.ok,
            "channel": channel.name,
            "kind": channel.kind,
            **({} if result.ok else {"error": result.message, "permanent": result.permanent}),
        },
    )
    return result
