"""Browser journeys of the reminder channels, in real Chromium against the live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Channel, ChannelKind, ReminderStatus
from tests.browser.journey import sign_in
from tests.factories import NOW, reminder_make
from tests.stubs import SlackStub

pytestmark = pytest.mark.browser

SECRET_PART = "bRoWsErSeCrEtWeBhOoK0042"


def test_admin_adds_a_slack_channel_and_sends_a_test_notification(
    page: Page, live_server: Any, transactional_db: Any, admin_user: Any, slack: SlackStub
) -> None:
    webhook = slack.webhook_url(f"/services/T0BROWSER/B0BROWSER/{SECRET_PART}")
    sign_in(page, live_server, admin_user.username)

    page.get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="Add Slack channel").click()
    page.get_by_label("Name").fill("#it-ops")
    webhook_input = page.get_by_label("Webhook URL")
    expect(webhook_input).to_have_attribute("type", "password")
    webhook_input.fill(webhook)
    page.get_by_label("Default channel").check()
    page.get_by_role("button", name="Add channel").click()

    expect(page.get_by_role("heading", name="#it-ops", level=1)).to_be_visible()
    expect(page.get_by_text(re.compile(r"127\.0\.0\.1:\d+/…/0042"))).to_be_visible()
    assert SECRET_PART not in page.content()

    page.get_by_role("button", name="Send test notification").click()

    expect(page.get_by_text("Test notification sent to “#it-ops”.")).to_be_visible()
    [request] = slack.requests
    assert request.path.endswith(SECRET_PART)
    assert "Test notification" in request.json["text"]
    channel = Channel.objects.get(name="#it-ops")
    assert channel.is_default
    assert channel.unseal("webhook_ciphertext") == webhook


def test_admin_sees_the_exact_error_when_the_webhook_is_gone(
    page: Page, live_server: Any, transactional_db: Any, admin_user: Any, slack: SlackStub
) -> None:
    slack.script((404, {}, "no_service"))
    channel = Channel(kind=ChannelKind.SLACK, name="#old", webhook_hint="127.0.0.1/…/0042")
    channel.seal("webhook_ciphertext", slack.webhook_url(f"/services/T0/B0/{SECRET_PART}"))
    channel.save()
    sign_in(page, live_server, admin_user.username)

    page.goto(f"{live_server.url}/channels/{channel.pk}/")
    page.get_by_role("button", name="Send test notification").click()

    expect(
        page.get_by_text("The test notification failed: Slack answered HTTP 404")
    ).to_be_visible()
    flash = page.locator(".message--error")
    expect(flash.get_by_text("no_service: the webhook was removed")).to_be_visible()
    # The page keeps the last test's result in its health card, across reloads.
    page.reload()
    last_test = page.locator("#last-test")
    expect(last_test).to_contain_text("Failed")
    expect(last_test).to_contain_text("no_service: the webhook was removed")
    assert SECRET_PART not in page.content()


def test_dashboard_banner_appears_when_a_delivery_failed(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
) -> None:
    credential, _ = make_credential(name="Atlassian Cloud — acme (Okta SCIM)")
    channel = Channel.objects.create(
        kind=ChannelKind.EMAIL, name="IT ops mail", email_recipients="ops@example.com"
    )
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
        claimed_at=NOW,
        attempts=5,
        status=ReminderStatus.FAILED,
        last_error="The mail server refused the recipients (ops@example.com: 550 No such user).",
    )

    sign_in(page, live_server, admin_user.username)

    banner = page.locator("#reminder-failures")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 reminder could not be delivered.")
    banner.get_by_role("link", name="Check the reminder channels").click()
    expect(page.get_by_role("heading", name="Reminder channels", level=1)).to_be_visible()
    page.get_by_role("link", name="1 failed").click()
    expect(page.get_by_text("550 No such user")).to_be_visible()
