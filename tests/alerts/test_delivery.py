"""Delivering outbox rows: exclusive claim, send outside transactions, record the outcome.

Slack is a real HTTP server on 127.0.0.1 (tests/stubs.py); email goes through Django's locmem
backend or a real SMTP server on 127.0.0.1 (aiosmtpd).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alerts.delivery import Outcome, reminder_claim, reminder_deliver
from alerts.models import Reminder, ReminderStatus
from alerts.scan import reminders_scan
from keyvault.audit.chain import audit_verify
from keyvault.models import AuditAction, AuditEvent, CredentialState
from tests.alerts.outbox_helpers import (
    WEBHOOK_SECRET,
    DueFactory,
    due_credential,
    email_channel,
    no_channels,
    slack_channel,
)
from tests.factories import ATLASSIAN_URL, NOW, run_concurrently
from tests.stubs import SlackStub, SmtpStub

__all__ = ["due_credential", "email_channel", "no_channels", "slack_channel"]


def scan_one(now: Any = NOW) -> int:
    queued = reminders_scan(now=now, enqueue=False).queued
    assert len(queued) == 1
    return queued[0].id


def test_a_claim_is_exclusive(due_credential: DueFactory, email_channel: Any) -> None:
    due_credential(days=7)
    reminder_id = scan_one()

    assert reminder_claim(reminder_id=reminder_id, now=NOW) is True
    assert reminder_claim(reminder_id=reminder_id, now=NOW) is False

    row = Reminder.objects.get(pk=reminder_id)
    assert (row.status, row.attempts, row.claimed_at) == (ReminderStatus.SENDING, 1, NOW)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_have_exactly_one_winner(
    due_credential: DueFactory, email_channel: Any
) -> None:
    due_credential(days=7)
    reminder_id = scan_one()
    wins = run_concurrently(
        lambda _: reminder_claim(reminder_id=reminder_id, now=NOW), count=4, timeout=30
    )

    assert sorted(wins) == [False, False, False, True]  # type: ignore[type-var]
    assert Reminder.objects.get(pk=reminder_id).attempts == 1


def test_slack_reminder_is_delivered_once_recorded_and_audited(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    credential, token = due_credential(days=7, name="Atlassian Cloud (acme)")
    reminder_id = scan_one()

    result = reminder_deliver(reminder_id=reminder_id, now=NOW)
    again = reminder_deliver(reminder_id=reminder_id, now=NOW)

    assert (result.outcome, again.outcome) == (Outcome.SENT, Outcome.NOT_CLAIMED)
    assert len(slack.requests) == 1
    body = slack.requests[0].text
    assert "Atlassian Cloud (acme)" in body
    for secret in (token, WEBHOOK_SECRET, ATLASSIAN_URL, credential.fingerprint):
        assert secret not in body
    row = Reminder.objects.get(pk=reminder_id)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (
        ReminderStatus.SENT,
        NOW,
        1,
        "",
    )
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_SENT)
    assert event.target_id == str(reminder_id)
    assert event.integration_id == credential.integration_id
    assert event.details["channel"] == "#it-ops" and event.details["threshold"] == 7
    assert WEBHOOK_SECRET not in str(event.details) and token not in str(event.details)
    assert audit_verify().ok


def test_transient_failure_is_retried_after_backoff(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub, settings: Any
) -> None:
    due_credential(days=7)
    reminder_id = scan_one()
    slack.script(500)

    first = reminder_deliver(reminder_id=reminder_id, now=NOW)

    base = settings.KEYVAULT_REMINDER_RETRY_BASE_SECONDS
    assert (first.outcome, first.retry_in) == (Outcome.RETRY, base)
    row = Reminder.objects.get(pk=reminder_id)
    assert row.status == ReminderStatus.PENDING
    assert "500" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=base)
    # not claimable (nor queued by a scan) before its backoff is over
    early = NOW + timedelta(seconds=base - 1)
    assert reminder_deliver(reminder_id=reminder_id, now=early).outcome == Outcome.NOT_CLAIMED
    assert reminders_scan(now=early, enqueue=False).queued == ()
    assert len(slack.requests) == 1

    later = NOW + timedelta(seconds=base)
    second = reminder_deliver(reminder_id=reminder_id, now=later)

    assert second.outcome == Outcome.SENT
    assert len(slack.requests) == 2
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (ReminderStatus.SENT, 2, "")
    assert not AuditEvent.objects.filter(action=AuditAction.REMINDER_FAILED).exists()


def test_backoff_honours_a_long_retry_after(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    due_credential(days=7)
    reminder_id = scan_one()
    slack.script((429, {"Retry-After": "600"}))

    result = reminder_deliver(reminder_id=reminder_id, now=NOW)

    assert (result.outcome, result.retry_in) == (Outcome.RETRY, 600)
    assert Reminder.objects.get(pk=reminder_id).next_attempt_at == NOW + timedelta(seconds=600)


def test_permanent_failure_is_failed_at_once_and_audited(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    credential, _ = due_credential(days=7)
    reminder_id = scan_one()
    slack.script((404, {}, "no_service"))

    result = reminder_deliver(reminder_id=reminder_id, now=NOW)

    assert (result.outcome, result.retry_in) == (Outcome.FAILED, None)
    row = Reminder.objects.get(pk=reminder_id)
    assert row.status == ReminderStatus.FAILED
    assert "no_service" in row.last_error
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_FAILED)
    assert event.integration_id == credential.integration_id
    assert "no_service" in event.details["error"]
    assert WEBHOOK_SECRET not in str(event.details)
    # never tried again
    assert reminder_claim(reminder_id=reminder_id, now=NOW + timedelta(days=1)) is False
    assert reminders_scan(now=NOW + timedelta(hours=1), enqueue=False).queued == ()
    assert len(slack.requests) == 1


def test_transient_failures_give_up_after_the_last_attempt(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub, settings: Any
) -> None:
    settings.KEYVAULT_REMINDER_MAX_ATTEMPTS = 2
    due_credential(days=7)
    reminder_id = scan_one()
    slack.script(503, 503)

    first = reminder_deliver(reminder_id=reminder_id, now=NOW)
    second = reminder_deliver(reminder_id=reminder_id, now=NOW + timedelta(hours=1))

    assert (first.outcome, second.outcome) == (Outcome.RETRY, Outcome.FAILED)
    row = Reminder.objects.get(pk=reminder_id)
    assert row.status == ReminderStatus.FAILED
    assert "Gave up after 2 attempts" in row.last_error
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_FAILED).count() == 1


def test_email_reminder_has_text_and_html(
    due_credential: DueFactory, email_channel: Any, mailoutbox: list[Any]
) -> None:
    _, token = due_credential(days=7, name="Okta (acme)")
    reminder_id = scan_one()

    assert reminder_deliver(reminder_id=reminder_id, now=NOW).outcome == Outcome.SENT

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["it-ops@example.com"]
    assert "Okta (acme)" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Okta (acme)" in html
    assert token not in message.body and token not in html


def test_smtp_refusal_is_retried_then_delivered(
    due_credential: DueFactory, email_channel: Any, smtp: SmtpStub
) -> None:
    due_credential(days=7)
    reminder_id = scan_one()
    smtp.refuse("451 4.3.0 Try again later", stage="RCPT", times=1)

    first = reminder_deliver(reminder_id=reminder_id, now=NOW)
    second = reminder_deliver(reminder_id=reminder_id, now=NOW + timedelta(hours=1))

    assert (first.outcome, second.outcome) == (Outcome.RETRY, Outcome.SENT)
    assert "451" in first.error
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == ["it-ops@example.com"]


def test_reminder_of_a_retired_credential_is_cancelled_not_sent(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub
) -> None:
    credential, _ = due_credential(days=7)
    reminder_id = scan_one()
    # retired by a path that did not send the signal: delivery still checks
    credential.state = CredentialState.REVOKED
    credential.save(update_fields=["state"])

    assert reminder_deliver(reminder_id=reminder_id, now=NOW).outcome == Outcome.CANCELLED

    assert slack.requests == []
    assert Reminder.objects.get(pk=reminder_id).status == ReminderStatus.CANCELLED


def test_claim_of_a_dead_worker_is_reopened_by_the_scan_and_sent_once(
    due_credential: DueFactory, slack_channel: Any, slack: SlackStub, settings: Any
) -> None:
    due_credential(days=7)
    reminder_id = scan_one()
    assert reminder_claim(reminder_id=reminder_id, now=NOW)  # the worker dies mid-send
    assert reminder_deliver(reminder_id=reminder_id, now=NOW).outcome == Outcome.NOT_CLAIMED

    later = NOW + timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    queued = reminders_scan(now=later, enqueue=False).queued
    results = [reminder_deliver(reminder_id=q.id, now=later).outcome for q in queued * 2]

    assert results == [Outcome.SENT, Outcome.NOT_CLAIMED]
    assert len(slack.requests) == 1
    row = Reminder.objects.get(pk=reminder_id)
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)
