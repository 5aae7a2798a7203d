"""The periodic sweep every outbox table shares (reminders, digests, notices): re-open claims
whose worker died, give up on rows out of attempts, and pick the pending rows that have no live
broker message.

Each function takes the table's rows as a queryset (``Reminder.objects.all()``, …) so one set
of rules serves them all:

- a claim is *stale* once ``KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS`` old (a delivery has a hard
  time limit below it, so only a dead worker leaves one);
- a re-opened row is flagged ``possible_duplicate``: the provider may have received it;
- a pending row's broker message is *live* until ``KEYVAULT_REMINDER_REQUEUE_SECONDS`` after it
  was due to run (after it was enqueued, or after its retry time), so a sweep hands a row to the
  broker again only when its message must have been lost, and broker messages never outnumber
  pending rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce, Greatest

from alerts.models import ReminderStatus

STALE_CLAIM_MESSAGE = "The worker sending it stopped before it finished; sending again."
EXHAUSTED_MESSAGE = "The worker sending it stopped before it finished, on every attempt; gave up"


def stale_claims(rows: QuerySet[Any], *, now: datetime, exhausted: bool) -> QuerySet[Any]:
    """``sending`` rows whose claim is older than the claim timeout, with attempts left, or
    (``exhausted``) without."""
    cutoff = now - timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS)
    out_of_attempts = Q(attempts__gte=settings.KEYVAULT_REMINDER_MAX_ATTEMPTS)
    return rows.filter(
        out_of_attempts if exhausted else ~out_of_attempts,
        status=ReminderStatus.SENDING,
        claimed_at__lt=cutoff,
    )


def stale_claims_reopen(rows: QuerySet[Any], *, now: datetime) -> int:
    """Make stale claims with attempts left pending again, flagged ``possible_duplicate``
    (their earlier attempt's outcome is unknown); returns how many."""
    return stale_claims(rows, now=now, exhausted=False).update(
        status=ReminderStatus.PENDING,
        next_attempt_at=None,
        enqueued_at=None,
        possible_duplicate=True,
        last_error=STALE_CLAIM_MESSAGE,
    )


def exhausted_message(attempts: int) -> str:
    """The error recorded on a stale claim that used every attempt."""
    return f"{EXHAUSTED_MESSAGE} after {attempts} attempts."


def pending_due(rows: QuerySet[Any], *, now: datetime) -> QuerySet[Any]:
    """Pending rows whose backoff (if any) is over and that have no live broker message,
    oldest first."""
    lost_before = now - timedelta(seconds=settings.KEYVAULT_REMINDER_REQUEUE_SECONDS)
    return (
        rows.annotate(
            message_due_at=Greatest("enqueued_at", Coalesce("next_attempt_at", "enqueued_at"))
        )
        .filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            Q(enqueued_at__isnull=True) | Q(message_due_at__lt=lost_before),
            status=ReminderStatus.PENDING,
        )
        .order_by("id")
    )
