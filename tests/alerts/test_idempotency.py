"""Every reminder carries a stable idempotency key, in each form its channel can carry one."""

from __future__ import annotations

from typing import Any

from alerts.delivery import reminder_deliver
from alerts.messages import reminder_notification
from alerts.models import Reminder
from alerts.scan import reminders_scan
from alerts.transports.email import message_id
from tests.alerts.outbox_helpers import (
    DueFactory,
    due_credential,
    email_channel,
    no_channels,
    slack_channel,
)
from tests.factories import NOW, email_channel_make, reminder_make
from tests.stubs import SlackStub, SmtpStub

__all__ = ["due_credential", "email_channel", "no_channels", "slack_channel"]


def test_the_key_is_stable_and_differs_per_threshold_and_channel(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=7)
    other = email_channel_make(name="other", recipients="x@example.com")
    first = reminder_make(credential=credential, channel=email_channel, threshold=7)
    again = Reminder.objects.get(pk=first.pk)

    assert first.idempotency_key == again.idempotency_key
    assert first.idempotency_key.startswith("kvr_")
    assert (
        first.idempotency_key
        != reminder_make(credential=credential, channel=email_channel, threshold=3).idempotency_key
    )
    assert (
        first.idempotency_key
        != reminder_make(credential=credential, channel=other, threshold=7).idempotency_key
    )


def test_the_message_carries_the_key_in_its_footer(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=7)
    reminder = reminder_make(credential=credential, channel=email_channel, threshold=7)

    notification = reminder_notification(reminder=reminder, now=NOW)

    key = reminder.idempotency_key
    assert notification.idempotency_key == key
    assert key in notification.text and key in notification.html
    footer = notification.slack_blocks[-1]
    assert footer["type"] == "context" and key in footer["elements"][0]["text"]


def test_every_attempt_of_an_email_reminder_has_the_same_message_id(
    due_credential: DueFactory, email_channel: Any, smtp: SmtpStub
) -> None:
    due_credential(days=7)
    [queued] = reminders_scan(now=NOW, enqueue=False).queued
    smtp.refuse("451 4.3.0 try again later", stage="DATA")
    reminder_deliver(reminder_id=queued.id, now=NOW)
    smtp.accept()
    reminder = Reminder.objects.get(pk=queued.id)
    reminder.next_attempt_at = None
    reminder.save(update_fields=["next_attempt_at"])

    reminder_deliver(reminder_id=queued.id, now=NOW)

    [mail] = smtp.wait_for_messages(1)
    assert mail.message["Message-ID"] == message_id(reminder.idempotency_key)
    assert mail.message["Message-ID"].startswith(f"<{reminder.idempotency_key}@")


def test_the_slack_message_footer_names_the_key(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    [queued] = reminders_scan(now=NOW, enqueue=False).queued

    reminder_deliver(reminder_id=queued.id, now=NOW)

    key = Reminder.objects.get(pk=queued.id).idempotency_key
    assert key in slack.requests[0].text
