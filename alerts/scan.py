"""Reminder outbox writes: the scan that fills it, and cancelling a retired credential's rows.

The outbox (``Reminder`` rows) is the record of what is owed, not the broker. A pending row is
handed to the broker once (``enqueued_at``); a scan hands it again only when that message must
be lost: it was never sent (broker down), or it should have run more than
``KEYVAULT_REMINDER_REQUEUE_SECONDS`` ago (Redis loses queued work when it restarts without
persistence). So broker messages do not outnumber pending rows, even with the workers down for
an hour, and a lost message delays a reminder by at most that long plus a scan period, never
loses it. Deliveries whose worker died mid-send (the filesystem broker never redelivers them)
are re-opened after the claim timeout and flagged ``possible_duplicate``.

Delivery itself (claim, send, record) lives in ``alerts.delivery``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from alerts.audiences import reminders_record_owed
from alerts.delivery import outbox_enqueue, reminder_mark_failed
from alerts.models import Reminder, ReminderStatus, ScanHeartbeat
from alerts.notices import notices_enqueue, notices_sweep
from alerts.sweep import exhausted_message, pending_due, stale_claims, stale_claims_reopen
from keyvault.models import Credential, CredentialState, Integration
from keyvault.vault.expiry import days_left

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedReminder:
    """A pending row handed to the delivery queue (metadata only, for the command's report)."""

    id: int
    integration: str
    channel: str
    threshold: int


@dataclass(frozen=True)
class ScanResult:
    """What one scan did."""

    scanned_at: datetime
    candidates: int = 0  # current credentials inside the reminder window
    created: int = 0  # new pending rows
    skipped: int = 0  # new rows recorded as skipped (crossed together with a more urgent one)
    superseded: int = 0  # older pending rows skipped because a more urgent one is now owed
    cancelled: int = 0  # pending rows of credentials no longer current
    reopened: int = 0  # "sending" claims (reminders, notices) older than the claim timeout
    exhausted: int = 0  # ... of which had used every attempt: marked failed
    queued: tuple[QueuedReminder, ...] = field(default=())
    notices_queued: int = 0  # pending notices handed to delivery (``alerts.notices``)

    def summary(self) -> dict[str, int]:
        return {
            "candidates": self.candidates,
            "created": self.created,
            "skipped": self.skipped,
            "superseded": self.superseded,
            "cancelled": self.cancelled,
            "reopened": self.reopened,
            "exhausted": self.exhausted,
            "queued": len(self.queued),
            "notices_queued": self.notices_queued,
        }


def reminders_scan(*, now: datetime, enqueue: bool = True) -> ScanResult:
    """Record every reminder owed at ``now`` and queue every pending one for delivery.

    In one transaction and a fixed number of queries, whatever the number of credentials:
    inserts outbox rows for current credentials whose next threshold has been crossed (the most
    urgent pending, the others skipped), skips older pending rows a more urgent one replaces,
    cancels pending rows of credentials no longer current, re-opens stale ``sending`` claims
    (marking failed those out of attempts, audited), and records the heartbeat. Concurrent
    scans queue on the heartbeat row and insert nothing twice.

    With ``enqueue`` (the default) each pending row's id is sent to the delivery task after
    the transaction commits; otherwise the caller delivers ``queued`` itself.
    """
    tz = timezone.get_default_timezone()
    with transaction.atomic():
        _heartbeat_lock(now=now)
        created, skipped, candidates = reminders_record_owed(now=now, tz=tz)
        exhausted = _stale_claims_exhausted(now=now)
        # A worker that died mid-send left its row "sending": if the provider had already
        # accepted the message, re-opening it sends it a second time (see ``alerts.delivery``).
        reopened = stale_claims_reopen(Reminder.objects.all(), now=now)
        # Only a row inserted now can be more urgent than a pending one.
        superseded = _pending_superseded() if created else 0
        cancelled = _pending_of_retired_cancelled()
        queued = _pending_due(now=now)
        notices_exhausted, notices_reopened, notices_queued = notices_sweep(now=now)
        ScanHeartbeat.objects.filter(pk=1).update(last_scan_at=now, last_queued=len(queued))
        if enqueue and queued:
            transaction.on_commit(partial(deliveries_enqueue, ids=[q.id for q in queued], now=now))
        if enqueue and notices_queued:
            transaction.on_commit(partial(notices_enqueue, ids=notices_queued, now=now))
    result = ScanResult(
        scanned_at=now,
        candidates=candidates,
        created=created,
        skipped=skipped,
        superseded=superseded,
        cancelled=cancelled,
        reopened=reopened + notices_reopened,
        exhausted=exhausted + notices_exhausted,
        notices_queued=len(notices_queued),
        queued=tuple(queued),
    )
    logger.info("reminder scan: %s", result.summary())
    return result


def deliveries_enqueue(*, ids: Sequence[int], now: datetime) -> int:
    """Send each id to the delivery task and record ``enqueued_at``; returns how many were
    handed to the broker.

    Only ids travel: the task loads the row. When the broker is unreachable the rest are left
    pending (not marked enqueued) for the next scan, rather than failing the scan that
    recorded them.
    """
    from alerts.tasks import deliver_reminder  # the tasks module imports this one

    return outbox_enqueue(
        task=deliver_reminder, rows=Reminder.objects.all(), ids=ids, now=now, what="reminders"
    )


def reminders_mark_enqueued(*, ids: Sequence[int], now: datetime) -> int:
    """Record that the ids of these pending rows were handed to the broker at ``now``."""
    if not ids:
        return 0
    return Reminder.objects.filter(pk__in=ids, status=ReminderStatus.PENDING).update(
        enqueued_at=now
    )


#: How soon a scan asked for by a change runs: long enough for the change to be visible to
#: the worker, short enough that a key pasted with two days left is reminded at once.
SCAN_SOON_SECONDS = 2


def reminders_scan_soon() -> None:
    """Once the current transaction commits (at once outside one), ask a worker for a scan
    within ``SCAN_SOON_SECONDS``. A broker that cannot be reached is logged, never raised into
    the change that asked: the next periodic scan does the same work."""
    transaction.on_commit(reminders_scan_request)


def reminders_scan_request() -> None:
    """Publish one scan task, due in ``SCAN_SOON_SECONDS``; logs (never raises) a broker
    failure."""
    from alerts.tasks import scan_reminders  # the tasks module imports this one

    try:
        # Dropped if a worker only gets to it a scan period late: that scan runs anyway.
        expires = SCAN_SOON_SECONDS + max(settings.KEYVAULT_SCAN_INTERVAL_SECONDS, 60)
        scan_reminders.apply_async(countdown=SCAN_SOON_SECONDS, expires=expires)
    except Exception as exc:  # kombu raises several types for "broker down"
        logger.warning("scan not requested (%s); the periodic scan covers it", type(exc).__name__)


def reminders_cancel(*, credential: Credential) -> int:
    """Cancel the pending reminders of a credential that was rotated or revoked.

    Called inside the rotate/revoke transaction (``credential_retired``). A reminder already
    being sent cannot be stopped and is recorded as sent; nothing new is recorded for the
    credential because scans only consider current credentials. Returns the rows cancelled.
    """
    return Reminder.objects.filter(credential=credential, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, next_attempt_at=None
    )


def reminders_replan(*, credential: Credential, now: datetime) -> int:
    """After ``credential``'s expiry date was corrected: drop the outbox rows of thresholds the
    new date has not reached yet (they were about the old date, and would stop the scan from
    owing them again), whatever their status but ``sending`` (cannot be stopped). What was sent
    stays in the audit log. Rows of thresholds already crossed stay: they count as dealt with.
    Called in the correction's transaction; returns the rows dropped."""
    days = days_left(credential.expires_at, now=now, tz=timezone.get_default_timezone())
    dropped, _ = (
        Reminder.objects.filter(credential=credential, threshold__lt=days)
        .exclude(status=ReminderStatus.SENDING)
        .delete()
    )
    return dropped


# --- steps of the scan ----------------------------------------------------------------------


def _heartbeat_lock(*, now: datetime) -> None:
    """Record the scan and lock the heartbeat row until commit: concurrent scans run one
    after the other, so the second sees what the first recorded."""
    if not ScanHeartbeat.objects.filter(pk=1).update(last_scan_at=now):
        ScanHeartbeat.objects.get_or_create(pk=1)
        ScanHeartbeat.objects.filter(pk=1).update(last_scan_at=now)


def _stale_claims_exhausted(*, now: datetime) -> int:
    """Stale claims that used every attempt (a message that kills its worker each time) are
    marked failed, audited, instead of being tried forever."""
    stale = list(
        stale_claims(Reminder.objects.all(), now=now, exhausted=True).select_related(
            "credential__integration", "channel"
        )
    )
    for reminder in stale:
        reminder_mark_failed(
            reminder=reminder, message=exhausted_message(reminder.attempts), now=now
        )
    return len(stale)


def _pending_superseded() -> int:
    """Skip pending rows that a more urgent row of the same (credential, channel) replaces,
    e.g. a 7-day reminder stuck behind a Slack outage once the 3-day one is owed."""
    more_urgent = Reminder.objects.filter(
        credential_id=OuterRef("credential_id"),
        channel_id=OuterRef("channel_id"),
        threshold__lt=OuterRef("threshold"),
    )
    return (
        Reminder.objects.filter(status=ReminderStatus.PENDING)
        .filter(Exists(more_urgent))
        .update(status=ReminderStatus.SKIPPED, next_attempt_at=None)
    )


def _pending_of_retired_cancelled() -> int:
    """Cancel pending rows of credentials no longer current, or of archived integrations, that
    the ``credential_retired`` and ``integration_archived`` receivers did not see (e.g. a state
    changed outside the services).

    Not one statement over ``tracked_q``, which would join every pending row to its
    integration: the pending rows of credentials no longer current, then those of archived
    integrations, whose ids are read first (few, usually none: no second update)."""
    pending = Reminder.objects.filter(status=ReminderStatus.PENDING)
    cancel = {"status": ReminderStatus.CANCELLED, "next_attempt_at": None}
    cancelled = pending.exclude(credential__state=CredentialState.CURRENT).update(**cancel)
    archived = list(
        Integration.objects.filter(archived_at__isnull=False).values_list("pk", flat=True)
    )
    if archived:
        cancelled += pending.filter(credential__integration_id__in=archived).update(**cancel)
    return cancelled


def _pending_due(*, now: datetime) -> list[QueuedReminder]:
    """Pending rows whose backoff (if any) is over and that have no live broker message."""
    return [
        QueuedReminder(id=pk, integration=name, channel=channel, threshold=threshold)
        for pk, name, channel, threshold in pending_due(
            Reminder.objects.all(), now=now
        ).values_list("id", "credential__integration__name", "channel__name", "threshold")
    ]
