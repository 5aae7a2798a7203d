"""Celery tasks for reminders: thin wrappers that read the clock once and call one service.

Task arguments are ids only: no secret, no model instance ever reaches the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts.delivery import DeliveryResult, reminder_deliver
from alerts.digest import digest_deliver, digests_mark_enqueued, digests_scan
from alerts.notices import notice_deliver, notices_mark_enqueued
from alerts.scan import reminders_mark_enqueued, reminders_scan

#: Hard limit for one delivery, below the claim timeout: a send hung past it is killed (and its
#: claim re-opened by a later scan) rather than finishing after another worker re-sent it.
DELIVERY_TIME_LIMIT = max(1, int(settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS * 0.9))


@shared_task(name="alerts.tasks.scan_reminders", ignore_result=True)
def scan_reminders() -> dict[str, int]:
    """Beat's periodic job: record owed reminders and queue the pending ones."""
    return reminders_scan(now=timezone.now()).summary()


def _deliver(
    task: Any,
    row_id: int,
    deliver: Callable[..., DeliveryResult],
    mark_enqueued: Callable[..., int],
) -> str:
    """Deliver one outbox row; a transient failure is retried after the service's backoff,
    counted from the moment the failure was known."""
    result = deliver(int(row_id), now=timezone.now(), clock=timezone.now)
    if result.retry_in is not None and result.failed_at is not None:
        # The countdown runs from now, a moment after the failure: never sooner than asked.
        # If this publish fails (broker down), the row is pending with its backoff recorded
        # and a scan re-enqueues it once the requeue time after its retry time has passed.
        mark_enqueued(ids=[int(row_id)], now=result.failed_at)
        raise task.retry(countdown=result.retry_in)
    return str(result.outcome)


@shared_task(
    bind=True,
    name="alerts.tasks.deliver_reminder",
    ignore_result=True,
    max_retries=None,  # the outbox row counts attempts and decides when to give up
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_reminder(self: Any, reminder_id: int) -> str:
    """Deliver one reminder row."""
    return _deliver(
        self,
        reminder_id,
        lambda pk, **kw: reminder_deliver(reminder_id=pk, **kw),
        reminders_mark_enqueued,
    )


@shared_task(name="alerts.tasks.scan_digests", ignore_result=True)
def scan_digests() -> dict[str, int]:
    """Beat's periodic job: record the weekly digests owed and queue the pending ones."""
    return digests_scan(now=timezone.now()).summary()


@shared_task(
    bind=True,
    name="alerts.tasks.deliver_digest",
    ignore_result=True,
    max_retries=None,
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_digest(self: Any, digest_id: int) -> str:
    """Deliver one weekly digest row."""
    return _deliver(
        self, digest_id, lambda pk, **kw: digest_deliver(digest_id=pk, **kw), digests_mark_enqueued
    )


@shared_task(
    bind=True,
    name="alerts.tasks.deliver_notice",
    ignore_result=True,
    max_retries=None,
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_notice(self: Any, notice_id: int) -> str:
    """Deliver one notice row."""
    return _deliver(
        self, notice_id, lambda pk, **kw: notice_deliver(notice_id=pk, **kw), notices_mark_enqueued
    )
