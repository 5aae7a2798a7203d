"""Reminders to Teams and webhook channels go through the same scan and delivery as the others:
real deliveries through ``reminder_deliver`` to local HTTP servers on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from standardwebhooks import Webhook

from alerts.delivery import Outcome, reminder_deliver
from alerts.models import Channel, ChannelKind, Reminder, ReminderStatus
from alerts.scan import reminders_scan
from keyvault.models import AuditAction, AuditEvent
from tests.alerts.outbox_helpers import DueFactory, due_credential, no_channels
from tests.factories import NOW, teams_channel_make, webhook_channel_make
from tests.stubs import RecordedRequest, SlackStub

__all__ = ["due_credential", "no_channels"]

SIG = "dElIvErYtEaMsSiG0123456789"
HOOK_SECRET = "dElIvErYhOoKpAtH0123456789"


def header(request: RecordedRequest, name: str) -> str:
    return {k.lower(): v for k, v in request.headers.items()}[name]


def queued(*, now: Any = NOW) -> dict[str, Reminder]:
    """Scan, and return the pending rows by channel kind."""
    ids = [r.id for r in reminders_scan(now=now, enqueue=False).queued]
    rows = Reminder.objects.filter(pk__in=ids).select_related("channel")
    return {row.channel.kind: row for row in rows}


def test_scan_sends_reminders_to_teams_and_webhook_channels_like_the_others(
    no_channels: None, due_credential: DueFactory, slack: SlackStub
) -> None:
    teams_channel_make(url=slack.webhook_url(f"/invoke?sv=1.0&sig={SIG}"))
    _, secret = webhook_channel_make(url=slack.webhook_url(f"/in/{HOOK_SECRET}"))
    credential, token = due_credential(days=3, name="Okta — acme")
    slack.script((202, {}, ""), (200, {}, ""))

    rows = queued()
    assert sorted(rows) == [ChannelKind.TEAMS, ChannelKind.WEBHOOK]
    for kind in (ChannelKind.TEAMS, ChannelKind.WEBHOOK):
        assert reminder_deliver(reminder_id=rows[kind].id, now=NOW).outcome == Outcome.SENT

    card_request, event_request = slack.requests
    card = card_request.json["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Okta — acme: credential expires in 3 days"
    event = Webhook(secret).verify(event_request.body, event_request.headers)
    assert event["credential"]["id"] == str(credential.pk)
    assert event["credential"]["days_left"] == 3
    assert header(event_request, "webhook-id") == rows[ChannelKind.WEBHOOK].idempotency_key
    for request in slack.requests:
        assert token not in request.text
    for row in rows.values():
        row.refresh_from_db()
        assert row.status == ReminderStatus.SENT
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_SENT).count() == 2


def test_webhook_retry_after_a_429_keeps_its_webhook_id_and_waits_as_asked(
    no_channels: None, due_credential: DueFactory, slack: SlackStub
) -> None:
    _, secret = webhook_channel_make(url=slack.webhook_url(f"/in/{HOOK_SECRET}"))
    due_credential(days=7)
    slack.script((429, {"Retry-After": "300"}, "slow down"), (204, {}, ""))
    row = queued()[ChannelKind.WEBHOOK]

    first = reminder_deliver(reminder_id=row.id, now=NOW)
    assert first.outcome == Outcome.RETRY
    assert first.retry_in is not None and first.retry_in >= 300
    too_soon = reminder_deliver(reminder_id=row.id, now=NOW + timedelta(seconds=299))
    assert too_soon.outcome == Outcome.NOT_CLAIMED
    later = reminder_deliver(reminder_id=row.id, now=NOW + timedelta(minutes=10))
    assert later.outcome == Outcome.SENT

    attempt_1, attempt_2 = slack.requests
    assert header(attempt_1, "webhook-id") == header(attempt_2, "webhook-id")
    assert header(attempt_2, "webhook-id") == row.idempotency_key
    assert Webhook(secret).verify(attempt_2.body, attempt_2.headers)["threshold"] == 7


def test_removed_teams_workflow_fails_the_reminder_for_good_with_the_url_redacted(
    no_channels: None, due_credential: DueFactory, slack: SlackStub, admin_client: Client
) -> None:
    path = f"/invoke?sv=1.0&sig={SIG}"
    channel = teams_channel_make(url=slack.webhook_url(path))
    due_credential(days=7)
    slack.script((404, {}, f'{{"error":{{"code":"WorkflowNotFound","message":"no {path}"}}}}'))
    row = queued()[ChannelKind.TEAMS]

    assert reminder_deliver(reminder_id=row.id, now=NOW).outcome == Outcome.FAILED

    row.refresh_from_db()
    assert row.status == ReminderStatus.FAILED
    assert "WorkflowNotFound" in row.last_error
    failed = AuditEvent.objects.get(action=AuditAction.REMINDER_FAILED)
    page = admin_client.get(reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk}))
    log = admin_client.get(reverse("keyvault:audit_log"))
    for shown in (row.last_error, str(failed.details), page.content.decode(), log.content.decode()):
        assert SIG not in shown


def test_webhook_channel_without_a_signing_secret_fails_permanently(
    no_channels: None, due_credential: DueFactory, slack: SlackStub
) -> None:
    channel, _ = webhook_channel_make(url=slack.webhook_url("/in"))
    Channel.objects.filter(pk=channel.pk).update(signing_secret_ciphertext=b"")
    due_credential(days=7)
    row = queued()[ChannelKind.WEBHOOK]

    result = reminder_deliver(reminder_id=row.id, now=NOW)

    assert result.outcome == Outcome.FAILED
    assert "signing secret" in result.error
    assert slack.requests == []
