"""A provider that echoes the request (a proxy's error page, a misconfigured relay) must not
put the webhook URL — a credential — on the channel page, in the audit log or in the export.

Slack is a real HTTP server on 127.0.0.1 answering with bodies that quote the request path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from alerts.delivery import Outcome, reminder_deliver
from alerts.models import Channel, Reminder
from alerts.scan import reminders_scan
from keyvault.models import AuditAction, AuditEvent
from tests.alerts.outbox_helpers import (
    WEBHOOK_SECRET,
    DueFactory,
    due_credential,
    no_channels,
    slack_channel,
)
from tests.factories import NOW
from tests.stubs import SlackStub

__all__ = ["due_credential", "no_channels", "slack_channel"]

PATH = f"/services/T0KV/B0KV/{WEBHOOK_SECRET}"


def _deliver_one() -> Reminder:
    queued = reminders_scan(now=NOW, enqueue=False).queued
    assert len(queued) == 1
    assert reminder_deliver(reminder_id=queued[0].id, now=NOW).outcome == Outcome.FAILED
    return Reminder.objects.get(pk=queued[0].id)


def _everything_shown(admin_client: Client, channel: Channel) -> str:
    """The channel page, the audit log page and the CSV export, as one text."""
    page = admin_client.get(reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk}))
    log = admin_client.get(reverse("keyvault:audit_log"))
    export = admin_client.post(reverse("keyvault:audit_export"), {"format": "csv"})
    return "".join(
        [page.content.decode(), log.content.decode(), b"".join(export.streaming_content).decode()]
    )


@pytest.mark.parametrize(
    "body",
    [
        f"no_service for {PATH}",
        f"404 Not Found: POST http://127.0.0.1{PATH} HTTP/1.1",
        f"not found: {quote(PATH, safe='')}",
        # Cut by the transport's length limit in the middle of the secret: the part that is
        # left is still long enough to be one.
        "x" * 100 + PATH,
    ],
    ids=["path", "whole-url", "percent-encoded", "truncated"],
)
def test_an_echoed_webhook_url_is_redacted_before_it_is_stored_or_shown(
    due_credential: DueFactory,
    slack_channel: Channel,
    slack: SlackStub,
    admin_client: Client,
    body: str,
) -> None:
    due_credential(days=7)
    slack.script((404, {}, body))

    reminder = _deliver_one()

    assert "[redacted]" in reminder.last_error
    assert WEBHOOK_SECRET[:12] not in reminder.last_error
    failed = AuditEvent.objects.get(action=AuditAction.REMINDER_FAILED)
    assert WEBHOOK_SECRET[:12] not in str(failed.details)
    shown = _everything_shown(admin_client, slack_channel)
    for fragment in (WEBHOOK_SECRET, WEBHOOK_SECRET[:12], WEBHOOK_SECRET[-12:]):
        assert fragment not in shown


def test_an_error_without_the_url_is_kept_as_the_provider_said_it(
    due_credential: DueFactory, slack_channel: Channel, slack: SlackStub
) -> None:
    due_credential(days=7)
    slack.script((404, {}, "no_service"))

    reminder = _deliver_one()

    assert "no_service" in reminder.last_error
    assert "[redacted]" not in reminder.last_error


def test_a_test_notification_error_is_redacted_in_the_message_and_the_audit_log(
    slack_channel: Channel, slack: SlackStub, admin_client: Client
) -> None:
    slack.script((403, {}, f"invalid_token {PATH}"))

    response = admin_client.post(
        reverse("alerts:channel_test", kwargs={"channel_id": slack_channel.pk}), follow=True
    )

    html = response.content.decode()
    assert "The test notification failed" in html
    assert WEBHOOK_SECRET[:12] not in html
    tested = AuditEvent.objects.get(action=AuditAction.CHANNEL_TESTED)
    assert "[redacted]" in tested.details["error"]
    assert WEBHOOK_SECRET[:12] not in str(tested.details)


def test_a_channel_name_holding_its_webhook_secret_is_refused(
    admin_client: Client, slack: SlackStub, integration: Any
) -> None:
    url = slack.webhook_url(PATH)
    before = Channel.objects.count()

    response = admin_client.post(
        reverse("alerts:channel_create", kwargs={"kind": "slack"}),
        {"name": f"ops {WEBHOOK_SECRET[:14]}", "webhook_url": url},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "This looks like the key — never paste secrets here."
    ]
    assert Channel.objects.count() == before
    assert WEBHOOK_SECRET[:14] not in response.content.decode()


def test_renaming_a_channel_to_part_of_its_stored_webhook_is_refused(
    admin_client: Client, slack_channel: Channel
) -> None:
    response = admin_client.post(
        reverse("alerts:channel_edit", kwargs={"channel_id": slack_channel.pk}),
        {"name": WEBHOOK_SECRET[-13:], "webhook_url": ""},
    )

    assert response.status_code == 200
    assert "never paste secrets here" in response.context["form"].errors["name"][0]
    slack_channel.refresh_from_db()
    assert slack_channel.name == "#it-ops"
