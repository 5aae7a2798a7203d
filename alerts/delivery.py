"""Deliver one outbox row: claim it, send it outside any transaction, record the outcome.

The claim is a conditional UPDATE (pending -> sending, only when its backoff is over): of two
workers handed the same row, exactly one changes it and sends; the other is told "another
worker got there first" and stops. Sending happens after the claim committed and before the
outcome is written, with no transaction open (no network I/O inside ``atomic()``).

Where a duplicate remains possible: the worker dies (or loses the database) after the provider
received the request and before the UPDATE that marks the row sent commits. That window is the
whole HTTP (or SMTP) round trip plus one database write: a provider that holds a fully received
request for 300 ms may act on it although the worker never hears the answer. The row stays
``sending``; after the claim timeout the next scan re-opens it, flagged ``possible_duplicate``,
and its resend is recorded as such (on the row and in the audit event). Every message carries
the reminder's stable ``idempotency_key`` (email ``Message-ID``, the Slack footer) so a receiver
that deduplicates can drop the second copy; Slack incoming webhooks and plain SMTP do not.

Transient or permanent is decided by the transport (``TransportError.permanent``), not here.
Weekly digests (``alerts.digest``) are delivered with the same claim, send and backoff steps
(``outbox_claim``, ``outbox_send``, ``outbox_after_failure``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet

from alerts.messages import reminder_notification
from alerts.models import Channel, Reminder, ReminderStatus
from alerts.outcomes import (
    DeliveryResult,
    Outcome,
    SendFailure,
    outbox_after_failure,
    outbox_mark_failed,
    outbox_mark_sent,
)
from alerts.transports.base import Notification, TransportError, transport_for
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Integration
from keyvault.vault.selectors import credential_tracked, tracked_q

logger = logging.getLogger(__name__)


def outbox_claim(*, rows: QuerySet[Any], now: datetime) -> bool:
    """Take one pending outbox row (``rows`` filters it by id; a ``Reminder`` or a ``Digest``)
    for sending: True for exactly one caller, False for the others.

    Counts the attempt and records the claim time (a claim older than the claim timeout is
    re-opened by the scan). A row still waiting out its backoff is not claimable yet.
    """
    claimed = (
        rows.filter(status=ReminderStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=ReminderStatus.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            next_attempt_at=None,
        )
    )
    return claimed == 1


def reminder_claim(*, reminder_id: int, now: datetime) -> bool:
    """``outbox_claim`` for one reminder row."""
    return outbox_claim(rows=Reminder.objects.filter(pk=reminder_id), now=now)


def outbox_send(
    *,
    channel: Channel,
    integration: Integration | None,
    notification: Callable[[], Notification],
    label: str,
) -> SendFailure | None:
    """Render ``notification()`` and send it to ``channel``; None when the provider accepted
    it. Call with no transaction open: this is the network I/O. ``label`` names the row in
    log lines."""
    try:
        message = notification()
        transport_for(channel, integration=integration).send(message)
    except TransportError as exc:
        return SendFailure(exc.message, permanent=exc.permanent, retry_after=exc.retry_after)
    except Exception as exc:
        # Not a provider's answer: a bug or an environment problem. Log where it happened but
        # not the exception's text, which may quote a URL; retried like a transient failure.
        logger.error(
            "%s: unexpected %s while sending\n%s",
            label,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return SendFailure(
            f"Unexpected error ({type(exc).__name__}); see the worker log.", permanent=False
        )
    return None


def reminder_deliver(
    *, reminder_id: int, now: datetime, clock: Callable[[], datetime] | None = None
) -> DeliveryResult:
    """Claim, send and record one reminder; never raises for a delivery failure.

    Returns ``NOT_CLAIMED`` when another worker got there first (or the row is gone, done or
    backing off); ``CANCELLED`` when its credential is no longer current; ``SENT`` (audited
    ``REMINDER_SENT``); ``RETRY`` with ``retry_in`` for a transient failure with attempts left
    (the row is pending again, not claimable before then); ``FAILED`` for a permanent failure or
    the last attempt (audited ``REMINDER_FAILED``). ``now`` is the attempt's time: claim, send
    and outcome are stamped with it. A retry is counted from the moment the failure was known,
    read from ``clock`` after the send (a send may have waited out rate limits for seconds);
    without a clock, from ``now``.
    """
    if not reminder_claim(reminder_id=reminder_id, now=now):
        logger.info("reminder %s not claimed: another worker got there first", reminder_id)
        return DeliveryResult(Outcome.NOT_CLAIMED)
    reminder = (
        Reminder.objects.select_related("credential__integration", "channel")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None:  # its channel was deleted a moment ago (the rows go with it)
        return DeliveryResult(Outcome.CANCELLED)
    if not credential_tracked(reminder.credential):
        Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
            status=ReminderStatus.CANCELLED
        )
        return DeliveryResult(Outcome.CANCELLED)
    failure = outbox_send(
        channel=reminder.channel,
        integration=reminder.credential.integration,
        notification=partial(reminder_notification, reminder=reminder, now=now),
        label=f"reminder {reminder.pk}",
    )
    if failure is not None:
        failed_at = clock() if clock is not None else now
        return outbox_after_failure(
            rows=Reminder.objects.filter(pk=reminder.pk),
            attempts=reminder.attempts,
            failure=failure,
            mark_failed=partial(reminder_mark_failed, reminder=reminder, now=failed_at),
            label=f"reminder {reminder.pk}",
            now=failed_at,
        )
    reminder_mark_sent(reminder=reminder, now=now)
    return DeliveryResult(Outcome.SENT)


def reminder_mark_sent(*, reminder: Reminder, now: datetime) -> None:
    """Record that the provider accepted ``reminder``, with its audit event, in one write.

    The message went out whatever the row says now, so this records it even if the row was
    cancelled or re-opened meanwhile; a row already marked sent means it went out twice, which
    the audit event says.
    """
    if not outbox_mark_sent(
        rows=Reminder.objects.filter(pk=reminder.pk),
        action=AuditAction.REMINDER_SENT,
        integration=reminder.credential.integration,
        target=reminder,
        details=_details(reminder),
        now=now,
    ):
        logger.warning("reminder %s was sent again after being marked sent", reminder.pk)


def reminder_mark_failed(*, reminder: Reminder, message: str, now: datetime) -> bool:
    """Mark a ``sending`` row failed for good, audited ``REMINDER_FAILED``; False (and no
    audit) when the row is no longer ``sending``. ``reminder`` needs its credential's
    integration and its channel loaded."""
    return outbox_mark_failed(
        rows=Reminder.objects.filter(pk=reminder.pk),
        action=AuditAction.REMINDER_FAILED,
        integration=reminder.credential.integration,
        target=reminder,
        details=_details(reminder),
        message=message,
        now=now,
    )


def reminder_retry(
    *, reminder_id: int, actor: Any, now: datetime, ip: str | None = None
) -> Reminder:
    """An admin's "Retry now" on a failed reminder: pending again with a fresh set of
    attempts, audited ``REMINDER_RETRIED``, handed to the broker once the change commits.

    Raises ``ValidationError`` when the row is no longer failed (retried or cleared meanwhile)
    or its credential is no longer current (nothing is owed for a rotated or revoked key).
    """
    from alerts.scan import deliveries_enqueue  # the scan module imports this one

    with transaction.atomic():
        reopened = Reminder.objects.filter(
            tracked_q("credential__"),
            pk=reminder_id,
            status=ReminderStatus.FAILED,
        ).update(
            status=ReminderStatus.PENDING,
            attempts=0,
            next_attempt_at=None,
            enqueued_at=None,
            last_error="",
        )
        if reopened != 1:
            raise ValidationError(
                "This reminder cannot be retried: it is no longer failed, its credential was"
                " rotated or revoked, or its integration archived. Reload the page.",
                code="not_failed",
            )
        reminder = Reminder.objects.select_related("credential__integration", "channel").get(
            pk=reminder_id
        )
        audit_append(
            action=AuditAction.REMINDER_RETRIED,
            now=now,
            actor=actor,
            integration=reminder.credential.integration,
            target=reminder,
            ip=ip,
            details=_details(reminder),
        )
        transaction.on_commit(partial(deliveries_enqueue, ids=[reminder.pk], now=now))
    return reminder


def outbox_enqueue(
    *, task: Any, rows: QuerySet[Any], ids: Sequence[int], now: datetime, what: str
) -> int:
    """Hand each id to ``task`` (``task.delay(id)``) and record ``enqueued_at = now`` on the
    pending rows of ``rows`` that were handed over; returns how many were.

    Only ids travel: the task loads the row. The first broker error stops the loop and is
    logged, never raised: the rest stay pending, not marked enqueued, for the next scan.
    """
    sent: list[int] = []
    for row_id in ids:
        try:
            task.delay(row_id)
        except Exception as exc:  # kombu raises several types for "broker down"
            logger.warning(
                "broker unavailable (%s): %d %s stay pending for the next scan",
                type(exc).__name__,
                len(ids) - len(sent),
                what,
            )
            break
        sent.append(row_id)
    if sent:
        rows.filter(pk__in=sent, status=ReminderStatus.PENDING).update(enqueued_at=now)
    return len(sent)


def _details(reminder: Reminder) -> dict[str, Any]:
    """Audit details: metadata only (never a webhook URL or token)."""
    details: dict[str, Any] = {
        "channel": reminder.channel.name,
        "channel_kind": reminder.channel.kind,
        "threshold": reminder.threshold,
        "attempts": reminder.attempts,
        "credential": str(reminder.credential_id),
        "hint": reminder.credential.hint,
        "idempotency_key": reminder.idempotency_key,
    }
    if reminder.possible_duplicate:
        details["possible_duplicate"] = True
    return details
