"""Escalation: which channel receives which threshold, and the owner's Slack @mention."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts import messages
from alerts.delivery import Outcome, reminder_deliver
from alerts.models import Channel, Reminder, ReminderPlan, ReminderStatus
from alerts.scan import reminders_scan
from keyvault.models import AuditAction, AuditEvent, Integration
from tests.alerts.outbox_helpers import DueFactory, due_credential, no_channels, pending_ids
from tests.factories import (
    NOW,
    MakeCredential,
    email_channel_make,
    reminder_make,
    slack_channel_make,
)
from tests.stubs import SlackStub

__all__ = ["due_credential", "no_channels"]  # fixtures used by name

SENT = ReminderStatus.SENT


def audiences(integration: Integration, slack: SlackStub) -> tuple[Channel, Channel, Channel]:
    """The README's suggested audiences: owners (everything), team (from 7), admins (from 1)."""
    owners = email_channel_make(name="Integration owners (email)", to_owner=True)
    team = slack_channel_make(
        name="#acme-team", url=slack.webhook_url(), is_default=False, integrations=(integration,)
    )
    admins = email_channel_make(name="Admins", recipients="admins@example.com")
    Channel.objects.filter(pk=team.pk).update(escalate_from_days=7)
    Channel.objects.filter(pk=admins.pk).update(escalate_from_days=1)
    return owners, team, admins


def thresholds_by_channel(credential: Any) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for name, threshold in Reminder.objects.filter(credential=credential).values_list(
        "channel__name", "threshold"
    ):
        out.setdefault(name, set()).add(threshold)
    return out


def test_owner_gets_every_threshold_the_team_from_seven_days_admins_from_one_and_while_expired(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    credential, _ = due_credential(days=31, owner_email="owner@example.com")
    audiences(credential.integration, slack)
    for day in range(0, 34):
        for reminder_id in pending_ids():  # pretend every reminder was delivered at once
            Reminder.objects.filter(pk=reminder_id).update(status=SENT)
        reminders_scan(now=NOW + timedelta(days=day, hours=1), enqueue=False)

    assert thresholds_by_channel(credential) == {
        "Integration owners (email)": {30, 14, 7, 3, 1, 0, -1, -2},
        "#acme-team": {7, 3, 1, 0, -1, -2},
        "Admins": {1, 0, -1, -2},
    }
    skipped = Reminder.objects.filter(credential=credential, status=ReminderStatus.SKIPPED)
    assert not skipped.exists()  # nobody was owed a threshold outside their audience


def test_a_key_pasted_with_five_days_left_reaches_owner_and_team_but_not_yet_admins(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    credential, _ = due_credential(days=5, owner_email="owner@example.com")
    audiences(credential.integration, slack)

    reminders_scan(now=NOW, enqueue=False)

    pending = set(
        Reminder.objects.filter(status=ReminderStatus.PENDING).values_list(
            "channel__name", "threshold"
        )
    )
    assert pending == {("Integration owners (email)", 7), ("#acme-team", 7)}


def test_an_integration_override_still_applies_within_the_audience(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    credential, _ = due_credential(days=2, reminder_thresholds="10,2")
    team = slack_channel_make(name="#team", url=slack.webhook_url())
    Channel.objects.filter(pk=team.pk).update(escalate_from_days=7)

    reminders_scan(now=NOW, enqueue=False)

    assert thresholds_by_channel(credential) == {"#team": {2}}


def test_scan_query_count_stays_the_same_with_escalated_channels(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    first = due_credential(days=5, owner_email="o@example.com")[0]
    audiences(first.integration, slack)
    reminders_scan(now=NOW - timedelta(days=30), enqueue=False)  # heartbeat row exists
    with CaptureQueriesContext(connection) as few:
        reminders_scan(now=NOW, enqueue=False)
    Reminder.objects.all().delete()
    ReminderPlan.objects.all().delete()  # the first ones are owed again
    for _ in range(30):
        due_credential(days=1, owner_email="o@example.com")

    with CaptureQueriesContext(connection) as many:
        result = reminders_scan(now=NOW, enqueue=False)

    assert result.created == 2 + 30 * 2  # the first: owner + team; the others: owner + admins
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the owner's Slack member ID --------------------------------------------------------------


def owner_field(notification: Any) -> str:
    section = next(b for b in notification.slack_blocks if b["type"] == "section")
    field = next(f["text"] for f in section["fields"] if f["text"].startswith("*Owner*"))
    return str(field.partition("\n")[2])


def reminder_for(make_credential: MakeCredential, **fields: Any) -> Reminder:
    credential, _ = make_credential(expires_at=NOW + timedelta(days=7), **fields)
    channel = email_channel_make(name="ops", recipients="ops@example.com")
    return reminder_make(credential=credential, channel=channel)


def test_slack_reminder_mentions_the_owner_by_member_id(make_credential: MakeCredential) -> None:
    reminder = reminder_for(
        make_credential, owner="Alice", owner_email="alice@example.com", owner_slack_id="U012ABCDEF"
    )

    notification = messages.reminder_notification(reminder=reminder, now=NOW)

    assert owner_field(notification) == "<@U012ABCDEF> (Alice &lt;alice@example.com&gt;)"


def test_the_mention_appears_in_slack_only_other_forms_show_the_plain_name(
    make_credential: MakeCredential,
) -> None:
    reminder = reminder_for(make_credential, owner="Alice", owner_slack_id="U012ABCDEF")

    notification = messages.reminder_notification(reminder=reminder, now=NOW)

    for plain in (notification.subject, notification.text, notification.html):
        assert "<@" not in plain and "U012ABCDEF" not in plain
    assert "Owner:              Alice" in notification.text
    assert "<td>Alice</td>" in notification.html
    assert "<@" not in notification.slack_text


def test_an_owner_with_only_a_member_id_is_mentioned_alone(make_credential: MakeCredential) -> None:
    reminder = reminder_for(make_credential, owner_slack_id="W0ENTERPRISE1")

    assert owner_field(messages.reminder_notification(reminder=reminder, now=NOW)) == (
        "<@W0ENTERPRISE1>"
    )


def test_without_a_member_id_the_owner_text_cannot_mention_anyone(
    make_credential: MakeCredential,
) -> None:
    reminder = reminder_for(make_credential, owner="<!channel> & <@U999>")

    field = owner_field(messages.reminder_notification(reminder=reminder, now=NOW))

    assert field == "&lt;!channel&gt; &amp; &lt;@U999&gt;"


def test_the_mention_reaches_slack_through_the_webhook(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    due_credential(days=7, owner="Alice", owner_slack_id="U012ABCDEF")
    slack_channel_make(name="#ops", url=slack.webhook_url())
    reminder_id = reminders_scan(now=NOW, enqueue=False).queued[0].id

    assert reminder_deliver(reminder_id=reminder_id, now=NOW).outcome == Outcome.SENT

    fields = [
        f["text"]
        for block in json.loads(slack.requests[0].text)["blocks"]
        for f in block.get("fields", [])
    ]
    assert "*Owner*\n<@U012ABCDEF> (Alice)" in fields


# --- the integration form ---------------------------------------------------------------------


def edit(admin_client: Client, integration: Integration, **changes: str) -> Any:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    data = {
        "name": integration.name,
        "provider": integration.provider,
        "identity_provider": integration.identity_provider,
        "owner": integration.owner,
        "owner_email": integration.owner_email,
        "owner_slack_id": integration.owner_slack_id,
        "notes": integration.notes,
        "reminder_thresholds": integration.reminder_thresholds,
        **changes,
    }
    return admin_client.post(url, data)


def test_a_slack_member_id_that_is_not_one_is_refused_on_the_field_and_nothing_is_saved(
    admin_client: Client, integration: Integration
) -> None:
    before = AuditEvent.objects.count()
    for bad in ("@alice", "alice", "u012abcdef", "C012ABCDEF", "U01"):
        response = edit(admin_client, integration, owner="Erin", owner_slack_id=bad)

        assert response.status_code == 200, bad
        assert "Enter a Slack member ID such as U012ABCDEF" in response.content.decode()
        assert response.context["form"].errors.keys() == {"owner_slack_id"}
    integration.refresh_from_db()
    assert (integration.owner, integration.owner_slack_id) == ("", "")
    assert AuditEvent.objects.count() == before


def test_a_slack_member_id_is_saved_shown_and_audited_like_other_fields(
    admin_client: Client, integration: Integration
) -> None:
    response = edit(admin_client, integration, owner_slack_id=" U012ABCDEF ")

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.owner_slack_id == "U012ABCDEF"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None and event.action == AuditAction.INTEGRATION_EDITED
    assert event.details == {"changed": {"owner_slack_id": {"from": "", "to": "U012ABCDEF"}}}
    page = admin_client.get(response["Location"]).content.decode()
    assert "<code>U012ABCDEF</code>" in page
    form = admin_client.get(
        reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    ).content.decode()
    assert 'value="U012ABCDEF"' in form
