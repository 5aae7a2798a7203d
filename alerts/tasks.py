"""Celery tasks for reminders: thin wrappers that read the clock once and call one service.

Task arguments are ids only: no secret, no model instance ever reaches the broker.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts.delivery import reminder_deliver
from alerts.digest import digest_deliver, digests_mark_enqueued, digests_scan
from alerts.scan import reminders_mark_enqueued, reminders_scan

#: Hard limit for one delivery, below the claim timeout: a send hung past it is killed (and its
#: claim re-opened by a later scan) rather than finishing after another worker re-sent it.
DELIVERY_TIME_LIMIT = max(1, int(settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS * 0.9))


@shared_task(name="alerts.tasks.scan_reminders", ignore_result=True)
def scan_reminders() -> dict[str, int]:
    """Beat's periodic job: record owed reminders and queue the pending ones."""
    return reminders_scan(now=timezone.now()).summary()


@shared_task(
    bind=True,
    name="alerts.tasks.deliver_reminder",
    ignore_result=True,
    max_retries=None,  # the outbox row counts attempts and decides when to give up
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_reminder(self: Any, reminder_id: int) -> str:
    """Deliver one outbox row; a transient failure is retried after the service's backoff,
    counted from the moment the failure was known."""
    result = reminder_deliver(reminder_id=int(reminder_id), now=timezone.now(), clock=timezone.now)
    if result.retry_in is not None and result.failed_at is not None:
        # The countdown runs from now, a moment after the failure: never sooner than asked.
        # If this publish fails (broker down), the row is pending with its backoff recorded
        # and a scan re-enqueues it once the claim timeout after its retry time has passed.
        reminders_mark_enqueued(ids=[int(reminder_id)], now=result.failed_at)
        raise self.retry(countdown=result.retry_in)
    return str(result.outcome)


@shared_task(name="alerts.tasks.scan_digests", ignore_result=True)
def scan_digests() -> dict[str, int]:
    """Beat's periodic job: record the weekly digests owed and queue the pending ones."""
    return digests_scan(now=timezone.now()).summary()


@shared_task(
    bind=True,
    name="alerts.tasks.deliver_digest",
    ignore_result=True,
    max_retries=None,  # the outbox row counts attempts and decides when to give up
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_digest(self: Any, digest_id: int) -> str:
    """Deliver one weekly digest row; transient failures retried as reminders are."""
    result = digest_deliver(digest_id=int(digest_id), now=timezone.now(), clock=timezone.now)
    if result.retry_in is not None and result.failed_at is not None:
        digests_mark_enqueued(ids=[int(digest_id)], now=result.failed_at)
        raise self.retry(countdown=result.retry_in)
    return str(result.outcome)
