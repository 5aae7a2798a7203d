"""The integration page's Reminders card: thresholds in force, channels and recipients, last
sent, next due, failures with "Retry now" — at a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import AudienceOverride, ReminderStatus
from alerts.reminder_card import reminder_card
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.vault.lifecycle import integration_archive
from tests.alerts.outbox_helpers import no_channels
from tests.factories import (
    NOW,
    MakeCredential,
    email_channel_make,
    reminder_make,
    slack_channel_make,
)

__all__ = ["no_channels"]  # fixtures used by name


def _page(client: Client, credential: Credential) -> str:
    url = reverse(
        "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
    )
    return client.get(url).content.decode()


def test_the_card_lists_thresholds_channels_recipients_and_the_next_reminder(
    make_credential: MakeCredential, no_channels: None
) -> None:
    credential, _ = make_credential(
        name="Acme",
        owner_email="owner@example.com",
        reminder_thresholds="14,7,1",
        expires_at=NOW + timedelta(days=10),
    )
    email_channel_make(name="Owners", to_owner=True, recipients="ops@example.com")
    slack = slack_channel_make(
        name="#security", url="https://hooks.example/T/B/x1234", hint="T/…/1234"
    )
    AudienceOverride.objects.create(
        integration=credential.integration, channel=slack, escalate_from_days=1
    )
    email_channel_make(name="Nobody", to_owner=False, recipients="")

    card = reminder_card(integration=credential.integration, credential=credential, now=NOW)

    assert (card.thresholds, card.custom) == ((14, 7, 1), True)
    assert [(c.channel.name, c.recipients, c.thresholds) for c in card.channels] == [
        ("#security", "Slack (incoming webhook): T/…/1234", (1,)),
        ("Owners", "ops@example.com, the owner (owner@example.com)", (14, 7, 1)),
    ]
    assert card.silent == 1
    assert card.next_due is not None
    assert (card.next_due.threshold, card.next_due.phrase) == (7, "7 days before expiry")
    assert card.next_due.at.date() == (NOW + timedelta(days=3)).date()


def test_the_page_shows_the_last_sent_reminder_and_retries_a_failed_one(
    admin_client: Client, make_credential: MakeCredential, no_channels: None
) -> None:
    credential, _ = make_credential(name="Acme")
    channel = email_channel_make(name="IT ops", recipients="ops@example.com")
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=30,
        status=ReminderStatus.SENT,
        sent_at=NOW,
    )
    failed = reminder_make(
        credential=credential,
        channel=channel,
        threshold=14,
        status=ReminderStatus.FAILED,
        attempts=8,
        last_error="SMTP said 550 mailbox unavailable",
    )

    page = _page(admin_client, credential)
    assert "30 days before expiry · IT ops" in page
    assert "SMTP said 550 mailbox unavailable" in page
    retry = reverse(
        "keyvault:integration_reminder_retry",
        kwargs={"integration_id": credential.integration_id, "reminder_id": failed.pk},
    )
    assert retry in page

    response = admin_client.post(retry)

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (ReminderStatus.PENDING, 0)
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_RETRIED).count() == 1


def test_a_reminder_of_another_integration_cannot_be_retried_from_this_page(
    admin_client: Client, make_credential: MakeCredential, no_channels: None
) -> None:
    mine, _ = make_credential()
    theirs, _ = make_credential()
    channel = email_channel_make(name="IT ops", recipients="ops@example.com")
    failed = reminder_make(credential=theirs, channel=channel, status=ReminderStatus.FAILED)
    url = reverse(
        "keyvault:integration_reminder_retry",
        kwargs={"integration_id": mine.integration_id, "reminder_id": failed.pk},
    )
    assert admin_client.post(url).status_code == 404


def test_auditors_see_the_card_without_retry_buttons(
    auditor_client: Client, make_credential: MakeCredential, no_channels: None
) -> None:
    credential, _ = make_credential()
    channel = email_channel_make(name="IT ops", recipients="ops@example.com")
    reminder_make(credential=credential, channel=channel, status=ReminderStatus.FAILED)
    page = _page(auditor_client, credential)
    assert "Reminders" in page and "IT ops" in page
    assert "Retry now" not in page


def test_an_archived_integration_says_its_reminders_are_off(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential()
    integration_archive(integration=credential.integration, actor=admin_user, now=NOW)
    assert "Reminders are off: this integration is archived." in _page(admin_client, credential)


def test_the_card_costs_the_same_queries_with_many_channels_and_failures(
    admin_client: Client, make_credential: MakeCredential, no_channels: None
) -> None:
    def queries(channels: int, failures: int) -> int:
        credential, _ = make_credential(expires_at=timezone.now() + timedelta(days=5))
        for n in range(channels):
            channel = email_channel_make(
                name=f"ops {n} {credential.pk}", recipients="o@example.com"
            )
            for threshold in range(failures):
                reminder_make(
                    credential=credential,
                    channel=channel,
                    threshold=threshold,
                    status=ReminderStatus.FAILED,
                )
        with CaptureQueriesContext(connection) as captured:
            _page(admin_client, credential)
        return len(captured)

    assert queries(1, 1) == queries(4, 3)
