"""Slack and email transports against real local servers on 127.0.0.1 (tests/stubs.py)."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from email.utils import formatdate
from itertools import pairwise
from typing import Any

import pytest

from alerts.messages import reminder_notification
from alerts.models import Channel, ChannelKind, Reminder
from alerts.transports import Notification, TransportError, transport_for
from alerts.transports.email import EmailTransport
from alerts.transports.slack import SlackTransport, raise_for_response, retry_after_seconds
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, reminder_make
from tests.stubs import SlackStub, SmtpStub

WEBHOOK_SECRET = "hUsHhUsHhUsHsecretPart0123"
WEBHOOK_PATH = f"/services/T0KV/B0KV/{WEBHOOK_SECRET}"


@pytest.fixture
def reminder(make_credential: MakeCredential) -> Reminder:
    credential, _ = make_credential(
        name="Atlassian Cloud — acme (Okta SCIM)",
        expires_at=NOW + timedelta(days=7),
        owner="Dana Ops",
        owner_email="dana@example.com",
    )
    channel = Channel.objects.create(
        kind=ChannelKind.EMAIL, name="ops mail", email_recipients="ops@example.com"
    )
    return reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
    )


@pytest.fixture
def notification(reminder: Reminder) -> Notification:
    return reminder_notification(reminder=reminder, now=NOW)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send_expecting_error(transport: Any, notification: Notification) -> TransportError:
    with pytest.raises(TransportError) as info:
        transport.send(notification)
    assert WEBHOOK_SECRET not in str(info.value)
    assert WEBHOOK_SECRET not in repr(info.value)
    return info.value


# --- Slack ----------------------------------------------------------------------------------


def test_slack_delivers_block_kit_message(slack: SlackStub, notification: Notification) -> None:
    SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH)).send(notification)

    [request] = slack.requests
    assert request.method == "POST"
    assert request.path == WEBHOOK_PATH
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json["text"] == notification.slack_text
    assert request.json["blocks"] == notification.slack_blocks
    assert [b["type"] for b in request.json["blocks"]][:3] == ["header", "section", "actions"]


def test_slack_waits_out_retry_after_twice_and_delivers_once(
    slack: SlackStub, notification: Notification
) -> None:
    slack.script((429, {"Retry-After": "2"}), (429, {"Retry-After": "2"}), (200, {}))
    started = time.monotonic()

    SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH)).send(notification)

    elapsed = time.monotonic() - started
    assert len(slack.requests) == 3  # two refused, one accepted: delivered exactly once
    gaps = [b.received_at - a.received_at for a, b in pairwise(slack.requests)]
    assert all(gap >= 2.0 for gap in gaps), gaps
    assert 4.0 <= elapsed < 8.0


def test_slack_rate_limit_still_standing_after_retries_is_transient_with_retry_after(
    slack: SlackStub, notification: Notification
) -> None:
    slack.script(*[(429, {"Retry-After": "1"})] * 3)
    transport = SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH), rate_limit_retries=2)

    error = send_expecting_error(transport, notification)

    assert not error.permanent
    assert error.retry_after == 1
    assert "429" in error.message
    assert len(slack.requests) == 3


def test_slack_long_retry_after_is_handed_back_instead_of_waited(
    slack: SlackStub, notification: Notification
) -> None:
    slack.script((429, {"Retry-After": "120"}))
    started = time.monotonic()

    error = send_expecting_error(
        SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH)), notification
    )

    assert time.monotonic() - started < 2
    assert not error.permanent
    assert error.retry_after == 120
    assert len(slack.requests) == 1


def test_slack_retry_after_as_http_date_is_honoured(
    slack: SlackStub, notification: Notification
) -> None:
    slack.script((429, {"Retry-After": formatdate(time.time() + 1, usegmt=True)}), (200, {}))

    SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH)).send(notification)

    assert len(slack.requests) == 2


def test_slack_500_is_transient_and_not_retried_inside_the_send(
    slack: SlackStub, notification: Notification
) -> None:
    slack.script((500, {}, "rollup_error"), (200, {}))
    transport = SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH))

    error = send_expecting_error(transport, notification)
    assert not error.permanent
    assert "500" in error.message
    assert len(slack.requests) == 1  # the task retries with backoff, not the transport

    transport.send(notification)  # the retry
    assert len(slack.requests) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, "no_service"),
        (404, "channel_not_found"),
        (403, "invalid_token"),
        (403, "action_prohibited"),
        (410, "channel_is_archived"),
        (400, "invalid_payload"),
        (401, "something_else"),
    ],
)
def test_slack_invalid_webhook_is_permanent_and_not_retried(
    slack: SlackStub, notification: Notification, status: int, body: str
) -> None:
    slack.script((status, {}, body))

    error = send_expecting_error(
        SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH)), notification
    )

    assert error.permanent
    assert str(status) in error.message
    assert body in error.message
    assert len(slack.requests) == 1


def test_slack_timeout_is_transient(slack: SlackStub, notification: Notification) -> None:
    slack.hold()
    started = time.monotonic()

    error = send_expecting_error(
        SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH), timeout=1), notification
    )

    assert time.monotonic() - started < 3
    assert not error.permanent
    assert "timed out" in error.message
    assert len(slack.requests) == 1  # not re-sent: Slack may have accepted it


def test_slack_connection_refused_is_transient(notification: Notification) -> None:
    url = f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}"

    error = send_expecting_error(SlackTransport(webhook_url=url, timeout=1), notification)

    assert not error.permanent
    assert "connect" in error.message.lower()


def test_slack_request_carries_no_secret_of_the_credential(
    slack: SlackStub, make_credential: MakeCredential
) -> None:
    credential, token = make_credential(expires_at=NOW + timedelta(days=3))
    channel = Channel(kind=ChannelKind.SLACK, name="#it-ops")
    channel.seal("webhook_ciphertext", slack.webhook_url(WEBHOOK_PATH))
    channel.save()
    reminder = reminder_make(
        credential=credential,
        channel=channel,
        threshold=3,
    )

    transport_for(channel, integration=credential.integration).send(
        reminder_notification(reminder=reminder, now=NOW)
    )

    [request] = slack.requests
    body = request.text
    assert token not in body
    assert ATLASSIAN_URL not in body
    assert ATLASSIAN_URL.rsplit("/", 1)[-1] not in body  # the directory id
    assert credential.fingerprint[:12] not in body
    assert WEBHOOK_SECRET not in body
    assert credential.integration.name in body  # it is the reminder, after all


def test_slack_never_logs_the_webhook_url(
    slack: SlackStub, notification: Notification, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.script((429, {"Retry-After": "1"}), (200, {}), (404, {}, "no_service"))
    transport = SlackTransport(webhook_url=slack.webhook_url(WEBHOOK_PATH), timeout=1)
    transport.send(notification)
    send_expecting_error(transport, notification)
    refused = SlackTransport(
        webhook_url=f"http://127.0.0.1:{closed_port()}{WEBHOOK_PATH}", timeout=1
    )
    send_expecting_error(refused, notification)

    assert WEBHOOK_SECRET not in caplog.text
    assert WEBHOOK_SECRET not in repr(transport)


def test_raise_for_response_accepts_any_2xx_from_slack_compatible_services() -> None:
    from slack_sdk.webhook import WebhookResponse

    for status, body in ((200, "ok"), (204, ""), (200, '{"success": true}')):
        raise_for_response(WebhookResponse(url="", status_code=status, body=body, headers={}))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), (" 0 ", 0.0), ("soon", None), (None, None), ("-5", 0.0)],
)
def test_retry_after_parses_delay_seconds(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_parses_http_date() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) == 30
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now=now) == 0


# --- transport_for --------------------------------------------------------------------------


def test_transport_for_decrypts_the_webhook_of_a_slack_channel(
    slack: SlackStub, notification: Notification, db: Any
) -> None:
    channel = Channel(kind=ChannelKind.SLACK, name="#alerts")
    channel.seal("webhook_ciphertext", slack.webhook_url(WEBHOOK_PATH))
    channel.save()

    transport = transport_for(channel, integration=None)
    transport.send(notification)

    assert isinstance(transport, SlackTransport)
    assert slack.requests[0].path == WEBHOOK_PATH


def test_transport_for_a_webhook_moved_from_another_row_is_permanent(db: Any) -> None:
    donor = Channel(kind=ChannelKind.SLACK, name="donor")
    donor.seal("webhook_ciphertext", "https://hooks.slack.com" + WEBHOOK_PATH)
    donor.save()
    thief = Channel.objects.create(
        kind=ChannelKind.SLACK, name="thief", webhook_ciphertext=donor.webhook_ciphertext
    )

    with pytest.raises(TransportError) as info:
        transport_for(thief, integration=None)

    assert info.value.permanent
    assert "decrypted" in info.value.message


# --- email ----------------------------------------------------------------------------------


def test_email_delivers_text_and_html_parts_to_channel_and_owner(
    smtp: SmtpStub, reminder: Reminder, notification: Notification
) -> None:
    channel = reminder.channel
    channel.email_recipients = "ops@example.com, security@example.com"
    channel.email_to_owner = True
    channel.save()

    transport_for(channel, integration=reminder.credential.integration).send(notification)

    [mail] = smtp.messages
    assert sorted(mail.rcpt_tos) == ["dana@example.com", "ops@example.com", "security@example.com"]
    assert " ".join(str(mail.message["Subject"]).split()) == notification.subject
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert "expires in 7 days" in mail.part("text/plain")
    html = mail.part("text/html")
    assert "<html" in html
    assert "Rotate the credential" in html


def test_email_refused_recipient_is_transient(smtp: SmtpStub, notification: Notification) -> None:
    smtp.refuse("550 5.1.1 Mailbox unavailable", stage="RCPT")

    with pytest.raises(TransportError) as info:
        EmailTransport(recipients=["ops@example.com"]).send(notification)

    assert not info.value.permanent
    assert "550" in info.value.message
    assert smtp.messages == []


def test_email_server_closing_with_421_is_transient_then_delivers(
    smtp: SmtpStub, notification: Notification
) -> None:
    smtp.refuse("421 4.3.0 Try again later", stage="DATA", times=1)
    transport = EmailTransport(recipients=["ops@example.com"])

    with pytest.raises(TransportError) as info:
        transport.send(notification)
    assert not info.value.permanent
    assert "421" in info.value.message

    transport.send(notification)
    assert len(smtp.messages) == 1


def test_email_unreachable_server_is_transient(settings: Any, notification: Notification) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(TransportError) as info:
        EmailTransport(recipients=["ops@example.com"]).send(notification)

    assert not info.value.permanent
    assert "connect" in info.value.message.lower()


def test_email_with_nobody_to_send_to_is_permanent(
    smtp: SmtpStub, reminder: Reminder, notification: Notification
) -> None:
    channel = reminder.channel
    channel.email_recipients = ""
    channel.email_to_owner = True
    channel.save()
    integration = reminder.credential.integration
    integration.owner_email = ""
    integration.save()

    with pytest.raises(TransportError) as info:
        transport_for(channel, integration=integration).send(notification)

    assert info.value.permanent
    assert integration.name in info.value.message
    assert smtp.messages == []


def test_email_goes_through_the_configured_backend(
    settings: Any, notification: Notification
) -> None:
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    EmailTransport(recipients=["ops@example.com", "OPS@example.com"]).send(notification)

    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert message.alternatives[0][1] == "text/html"
