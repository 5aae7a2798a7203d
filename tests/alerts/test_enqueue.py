"""Each pending row has at most one live broker message; resends after an unknown outcome are
flagged; retries are counted from the moment of failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from alerts.delivery import Outcome, reminder_claim, reminder_deliver
from alerts.models import Reminder, ReminderStatus
from alerts.scan import reminders_mark_enqueued, reminders_scan
from keyvault.models import AuditAction, AuditEvent
from tests.alerts.outbox_helpers import (
    DueFactory,
    due_credential,
    email_channel,
    no_channels,
    slack_channel,
)
from tests.factories import NOW
from tests.stubs import SlackStub

__all__ = ["due_credential", "email_channel", "no_channels", "slack_channel"]


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS)


def requeue_after() -> timedelta:
    return timedelta(seconds=settings.KEYVAULT_REMINDER_REQUEUE_SECONDS)


def queued_ids(now: Any) -> list[int]:
    return [q.id for q in reminders_scan(now=now, enqueue=False).queued]


def test_a_row_handed_to_the_broker_is_not_queued_again_by_the_next_scans(
    due_credential: DueFactory, email_channel: Any
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)
    reminders_mark_enqueued(ids=[reminder_id], now=NOW)

    assert queued_ids(NOW + timedelta(minutes=1)) == []
    # Workers down for an hour: the message waits in the broker, nothing is added.
    assert queued_ids(NOW + timedelta(hours=1)) == []
    assert queued_ids(NOW + requeue_after()) == []
    # Its message should have run long ago: lost (a broker restart), so it is sent again.
    assert queued_ids(NOW + requeue_after() + timedelta(seconds=1)) == [reminder_id]


def test_a_row_never_handed_to_the_broker_is_queued_by_every_scan(
    due_credential: DueFactory, email_channel: Any
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)

    # The broker was down: nothing was marked enqueued, so the next scan tries again.
    assert queued_ids(NOW + timedelta(minutes=1)) == [reminder_id]


def test_a_scheduled_retry_counts_as_live_until_the_requeue_time_after_its_retry_time(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)
    slack.script((429, {"Retry-After": "600"}))
    result = reminder_deliver(reminder_id=reminder_id, now=NOW)
    assert result.failed_at is not None
    reminders_mark_enqueued(ids=[reminder_id], now=result.failed_at)  # as the task does
    retry_at = NOW + timedelta(seconds=600)

    assert queued_ids(retry_at) == []
    assert queued_ids(retry_at + requeue_after()) == []
    assert queued_ids(retry_at + requeue_after() + timedelta(seconds=1)) == [reminder_id]


def test_a_retry_is_counted_from_the_moment_the_failure_was_known(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)
    slack.script((429, {"Retry-After": "120"}))  # longer than the first backoff
    # The send itself took 8 s (rate limits waited out inside it).
    failed_at = NOW + timedelta(seconds=8)

    result = reminder_deliver(reminder_id=reminder_id, now=NOW, clock=lambda: failed_at)

    assert (result.outcome, result.retry_in, result.failed_at) == (Outcome.RETRY, 120, failed_at)
    row = Reminder.objects.get(pk=reminder_id)
    assert row.next_attempt_at == failed_at + timedelta(seconds=120)
    too_soon = failed_at + timedelta(seconds=119)
    assert reminder_deliver(reminder_id=reminder_id, now=too_soon).outcome == Outcome.NOT_CLAIMED


def test_a_retry_after_given_as_an_http_date_is_honoured(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)
    slack.script((429, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))

    result = reminder_deliver(reminder_id=reminder_id, now=NOW)

    assert result.outcome == Outcome.RETRY
    # Far in the future: capped by the longest retry keyvault waits.
    assert result.retry_in == settings.KEYVAULT_REMINDER_RETRY_MAX_SECONDS


def test_a_resend_after_a_dead_worker_is_flagged_as_a_possible_duplicate(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)
    assert reminder_claim(reminder_id=reminder_id, now=NOW)  # its worker then dies

    later = NOW + claim_timeout() + timedelta(seconds=1)
    assert queued_ids(later) == [reminder_id]
    row = Reminder.objects.get(pk=reminder_id)
    assert (row.status, row.possible_duplicate, row.enqueued_at) == (
        ReminderStatus.PENDING,
        True,
        None,
    )

    assert reminder_deliver(reminder_id=reminder_id, now=later).outcome == Outcome.SENT

    row.refresh_from_db()
    assert (row.status, row.possible_duplicate) == (ReminderStatus.SENT, True)
    sent = AuditEvent.objects.get(action=AuditAction.REMINDER_SENT)
    assert sent.details["possible_duplicate"] is True
    assert sent.details["idempotency_key"] == row.idempotency_key


def test_a_first_send_is_not_flagged(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [reminder_id] = queued_ids(NOW)

    reminder_deliver(reminder_id=reminder_id, now=NOW)

    assert Reminder.objects.get(pk=reminder_id).possible_duplicate is False
    sent = AuditEvent.objects.get(action=AuditAction.REMINDER_SENT)
    assert "possible_duplicate" not in sent.details
