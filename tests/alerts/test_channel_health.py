"""Channel health on the pages: last delivery, the last test kept across reloads, reminders
being retried, a banner when a channel keeps failing, and "Retry now" on failed reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.delivery import Outcome, reminder_deliver
from alerts.models import Channel, Reminder, ReminderStatus
from keyvault.models import AuditAction, AuditEvent
from tests.factories import MakeCredential, email_channel_make, reminder_make, slack_channel_make
from tests.stubs import SlackStub


def _detail(client: Client, channel: Channel) -> str:
    url = reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk})
    return client.get(url).content.decode()


def _test(client: Client, channel: Channel) -> str:
    url = reverse("alerts:channel_test", kwargs={"channel_id": channel.pk})
    return client.post(url, follow=True).content.decode()


def test_the_last_test_result_is_kept_across_reloads(
    admin_client: Client, slack: SlackStub
) -> None:
    channel = slack_channel_make(url=slack.webhook_url())
    assert "Never tested" in _detail(admin_client, channel)

    slack.script((404, {}, "no_service"))
    _test(admin_client, channel)
    failed = _detail(admin_client, channel)
    assert "Failed" in failed and "no_service" in failed

    _test(admin_client, channel)
    page = _detail(admin_client, channel)
    last_test = page[page.index('id="last-test"') :][:400]
    assert "Delivered" in last_test and "no_service" not in last_test


def test_reminders_being_retried_show_on_the_channel_and_the_list(
    admin_client: Client, make_credential: MakeCredential, slack: SlackStub
) -> None:
    channel = slack_channel_make(url=slack.webhook_url())
    credential, _ = make_credential()
    reminder_make(
        credential=credential, channel=channel, attempts=2, last_error="Slack answered HTTP 503"
    )
    reminder_make(credential=credential, channel=channel, threshold=3)  # not tried yet

    assert "Retrying 1" in _detail(admin_client, channel)
    assert "Retrying 1" in admin_client.get(reverse("alerts:channel_list")).content.decode()


def test_the_dashboard_warns_when_a_channel_has_been_failing_for_over_an_hour(
    admin_client: Client, make_credential: MakeCredential, slack: SlackStub
) -> None:
    channel = slack_channel_make(name="#it-ops", url=slack.webhook_url())
    credential, _ = make_credential()
    reminder = reminder_make(
        credential=credential,
        channel=channel,
        attempts=3,
        last_error="Slack answered HTTP 503",
        created_at=timezone.now() - timedelta(minutes=50),
    )
    assert 'id="reminder-retrying"' not in admin_client.get("/").content.decode()

    Reminder.objects.filter(pk=reminder.pk).update(
        created_at=timezone.now() - timedelta(minutes=70)
    )
    page = admin_client.get("/").content.decode()

    assert 'id="reminder-retrying"' in page
    assert "Reminders to #it-ops have been failing for over an hour" in page


def test_an_admin_retries_a_failed_reminder_and_it_is_delivered(
    admin_client: Client, make_credential: MakeCredential, slack: SlackStub
) -> None:
    channel = slack_channel_make(url=slack.webhook_url())
    credential, _ = make_credential(name="Okta → Atlassian")
    reminder = reminder_make(
        credential=credential,
        channel=channel,
        status=ReminderStatus.FAILED,
        attempts=8,
        last_error="Slack answered HTTP 404 (no_service)",
    )
    url = reverse(
        "alerts:reminder_retry", kwargs={"channel_id": channel.pk, "reminder_id": reminder.pk}
    )
    assert "Retry now" in _detail(admin_client, channel)

    response = admin_client.post(url, follow=True)

    assert "is being sent again" in response.content.decode()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == (
        ReminderStatus.PENDING,
        0,
        "",
    )
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_RETRIED)
    assert event.actor_label == "alice" and event.details["channel"] == channel.name
    assert reminder_deliver(reminder_id=reminder.pk, now=timezone.now()).outcome == Outcome.SENT
    assert len(slack.requests) == 1


def test_a_reminder_that_is_not_failed_cannot_be_retried(
    admin_client: Client, make_credential: MakeCredential, slack: SlackStub
) -> None:
    channel = slack_channel_make(url=slack.webhook_url())
    credential, _ = make_credential()
    reminder = reminder_make(credential=credential, channel=channel, status=ReminderStatus.SENT)
    url = reverse(
        "alerts:reminder_retry", kwargs={"channel_id": channel.pk, "reminder_id": reminder.pk}
    )

    response = admin_client.post(url, follow=True)

    assert "cannot be retried" in response.content.decode()
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT
    assert not AuditEvent.objects.filter(action=AuditAction.REMINDER_RETRIED).exists()


def test_a_reminder_of_another_channel_is_not_found(
    admin_client: Client, make_credential: MakeCredential, slack: SlackStub
) -> None:
    mine = slack_channel_make(name="#mine", url=slack.webhook_url())
    other = email_channel_make(name="other", recipients="x@example.com")
    credential, _ = make_credential()
    reminder = reminder_make(credential=credential, channel=other, status=ReminderStatus.FAILED)
    url = reverse(
        "alerts:reminder_retry", kwargs={"channel_id": mine.pk, "reminder_id": reminder.pk}
    )

    assert admin_client.post(url).status_code == 404
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED


def test_an_email_test_with_the_console_backend_says_it_was_not_sent(
    admin_client: Client, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    channel = email_channel_make(name="ops mail", recipients="ops@example.com")

    page = _test(admin_client, channel)

    assert "printed on the console" in page and "it was not sent" in page
