"""The Teams transport against a real local HTTP server on 127.0.0.1 (tests/stubs.py)."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from email.utils import formatdate
from typing import Any

import pytest

from alerts.messages import reminder_notification, rotate_url, test_notification
from alerts.models import Channel, ChannelKind, Reminder
from alerts.transports import Notification, TransportError, transport_for
from alerts.transports.teams import TeamsTransport
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, reminder_make, teams_channel_make
from tests.stubs import SlackStub

SIG = "tEaMsSiGnAtUrEsEcReT0123456789abcdef"
TEAMS_PATH = (
    "/workflows/0f1e2d3c4b5a/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
ADAPTIVE = "application/vnd.microsoft.card.adaptive"


@pytest.fixture
def teams(slack: SlackStub) -> SlackStub:
    """The local HTTP stub, answering like a Workflows trigger (202, empty body)."""
    return slack


@pytest.fixture
def reminder(make_credential: MakeCredential, teams: SlackStub) -> Reminder:
    credential, _ = make_credential(
        name="Atlassian Cloud — acme (Okta SCIM)",
        expires_at=NOW + timedelta(days=7),
        owner="Dana Ops",
        owner_email="dana@example.com",
    )
    channel = teams_channel_make(url=teams.webhook_url(TEAMS_PATH))
    return reminder_make(credential=credential, channel=channel, threshold=7)


@pytest.fixture
def notification(reminder: Reminder) -> Notification:
    return reminder_notification(reminder=reminder, now=NOW)


def transport(teams: SlackStub, **kwargs: Any) -> TeamsTransport:
    return TeamsTransport(webhook_url=teams.webhook_url(TEAMS_PATH), **kwargs)


def send_expecting_error(sender: TeamsTransport, notification: Notification) -> TransportError:
    with pytest.raises(TransportError) as info:
        sender.send(notification)
    assert SIG not in str(info.value)
    assert SIG[:12] not in repr(info.value)
    return info.value


def card(request: Any) -> dict[str, Any]:
    [attachment] = request.json["attachments"]
    assert attachment["contentType"] == ADAPTIVE
    return dict(attachment["content"])


def test_teams_posts_an_adaptive_card_with_the_reminder_facts_and_a_rotate_button(
    teams: SlackStub, reminder: Reminder, notification: Notification
) -> None:
    teams.script((202, {}, ""))

    transport_for(reminder.channel, integration=reminder.credential.integration).send(notification)

    [request] = teams.requests
    assert request.method == "POST"
    assert request.path == TEAMS_PATH
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json["type"] == "message"
    content = card(request)
    assert content["type"] == "AdaptiveCard"
    assert content["version"] == "1.4"
    facts = {
        f["title"]: f["value"]
        for b in content["body"]
        if b["type"] == "FactSet"
        for f in b["facts"]
    }
    assert facts == {
        "Integration": "Atlassian Cloud — acme (Okta SCIM)",
        "Identity provider": reminder.credential.integration.get_identity_provider_display(),
        "Expires": "8 Mar 2026, 09:00 UTC",
        "Days left": "7",
        "Owner": "Dana Ops <dana@example.com>",
        "Provider": "Atlassian (SCIM API key)",
    }
    assert content["body"][0]["text"].endswith("credential expires in 7 days")
    [action] = content["actions"]
    assert action == {
        "type": "Action.OpenUrl",
        "title": "Rotate the credential",
        "url": rotate_url(reminder.credential.integration),
        "style": "positive",
    }
    assert content["body"][-1]["text"].endswith(f"Reminder key {reminder.idempotency_key}")


def test_teams_card_of_an_expired_credential_says_days_overdue(
    teams: SlackStub, reminder: Reminder
) -> None:
    transport(teams).send(reminder_notification(reminder=reminder, now=NOW + timedelta(days=10)))

    content = card(teams.requests[0])
    facts = {f["title"]: f["value"] for f in content["body"][2]["facts"]}
    assert facts["Days overdue"] == "3"
    assert content["body"][0]["color"] == "Attention"
    assert content["actions"][0]["style"] == "destructive"


def test_teams_card_keeps_quotes_backslashes_and_markup_in_names_as_text(
    teams: SlackStub, make_credential: MakeCredential
) -> None:
    name = 'Ops "blue" \\ team <b>&amp; 🔑'
    credential, _ = make_credential(name=name, owner='O\'Neil "Ops"')
    channel = teams_channel_make(url=teams.webhook_url(TEAMS_PATH))
    reminder = reminder_make(credential=credential, channel=channel, threshold=7)

    transport(teams).send(reminder_notification(reminder=reminder, now=NOW))

    facts = {f["title"]: f["value"] for f in card(teams.requests[0])["body"][2]["facts"]}
    # The card's Markdown shows an escaped backslash as one backslash.
    assert facts["Integration"] == 'Ops "blue" \\\\ team <b>&amp; 🔑'
    assert facts["Owner"] == 'O\'Neil "Ops"'


def test_teams_card_shows_link_and_emphasis_markup_in_names_as_text(
    teams: SlackStub, make_credential: MakeCredential
) -> None:
    name = "[Pay here](https://evil.example) *now* ~gone~ `x`"
    credential, _ = make_credential(name=name, owner="# Ops_team")
    channel = teams_channel_make(url=teams.webhook_url(TEAMS_PATH))
    reminder = reminder_make(credential=credential, channel=channel, threshold=7)

    transport(teams).send(reminder_notification(reminder=reminder, now=NOW))

    body = card(teams.requests[0])["body"]
    facts = {f["title"]: f["value"] for f in body[2]["facts"]}
    assert facts["Integration"] == (
        "\\[Pay here\\](https://evil.example) \\*now\\* \\~gone\\~ \\`x\\`"
    )
    assert facts["Owner"] == "\\# Ops\\_team"
    assert body[0]["text"].startswith("\\[Pay here\\]")
    # Links keyvault adds stay links.
    assert card(teams.requests[0])["actions"][0]["url"] == rotate_url(credential.integration)


def test_teams_test_notification_is_a_card_linking_to_the_channel(
    teams: SlackStub, db: Any
) -> None:
    channel = teams_channel_make(name='IT "ops"', url=teams.webhook_url(TEAMS_PATH))

    transport(teams).send(test_notification(channel=channel, now=NOW))

    content = card(teams.requests[0])
    assert content["body"][0]["text"] == 'Test notification: IT "ops"'
    assert content["actions"][0]["url"].endswith(f"/channels/{channel.pk}/")


@pytest.mark.parametrize("status", [200, 202, 204])
def test_teams_any_2xx_is_delivered(
    teams: SlackStub, notification: Notification, status: int
) -> None:
    teams.script((status, {}, ""))

    transport(teams).send(notification)

    assert len(teams.requests) == 1


def test_teams_429_is_transient_with_retry_after_seconds(
    teams: SlackStub, notification: Notification
) -> None:
    teams.script((429, {"Retry-After": "17"}, '{"error":{"code":"WorkflowTriggersFlowThrottled"}}'))

    error = send_expecting_error(transport(teams), notification)

    assert not error.permanent
    assert error.retry_after == 17
    assert "429" in error.message
    assert len(teams.requests) == 1  # the delivery task waits, not the transport


def test_teams_429_with_retry_after_as_http_date_is_transient(
    teams: SlackStub, notification: Notification
) -> None:
    teams.script((429, {"Retry-After": formatdate(time.time() + 120, usegmt=True)}))

    error = send_expecting_error(transport(teams), notification)

    assert not error.permanent
    assert error.retry_after is not None and 110 <= error.retry_after <= 120


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_teams_server_errors_are_transient(
    teams: SlackStub, notification: Notification, status: int
) -> None:
    teams.script((status, {}, "upstream trouble"), (202, {}, ""))
    sender = transport(teams)

    error = send_expecting_error(sender, notification)
    assert not error.permanent
    assert str(status) in error.message

    sender.send(notification)  # the retry
    assert len(teams.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (
            400,
            '{"error":{"code":"InvalidRequestContent","message":"bad"}}',
            "InvalidRequestContent",
        ),
        (
            401,
            '{"error":{"code":"DirectApiAuthorizationRequired"}}',
            "DirectApiAuthorizationRequired",
        ),
        (403, "Forbidden", "Forbidden"),
        (404, '{"error":{"code":"WorkflowNotFound","message":"gone"}}', "WorkflowNotFound"),
        (409, '{"error":{"code":"WorkflowTriggerIsNotEnabled"}}', "WorkflowTriggerIsNotEnabled"),
        (301, "", "301"),
    ],
)
def test_teams_client_errors_and_redirects_are_permanent(
    teams: SlackStub, notification: Notification, status: int, body: str, shown: str
) -> None:
    headers = {"Location": "https://elsewhere.example.com/"} if status == 301 else {}
    teams.script((status, headers, body))

    error = send_expecting_error(transport(teams), notification)

    assert error.permanent
    assert str(status) in error.message
    assert shown in error.message
    assert len(teams.requests) == 1  # a redirect is not followed


def test_teams_timeout_is_transient(teams: SlackStub, notification: Notification) -> None:
    teams.hold()
    started = time.monotonic()

    error = send_expecting_error(transport(teams, timeout=1), notification)

    assert time.monotonic() - started < 3
    assert not error.permanent
    assert "timed out" in error.message


def test_teams_connection_refused_is_transient(notification: Notification) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{TEAMS_PATH}"

    error = send_expecting_error(TeamsTransport(webhook_url=url, timeout=1), notification)

    assert not error.permanent
    assert "connect" in error.message


def test_teams_error_echoing_the_webhook_url_is_redacted(
    teams: SlackStub, notification: Notification
) -> None:
    teams.script((404, {}, f"no flow at POST {teams.webhook_url(TEAMS_PATH)}"))

    error = send_expecting_error(transport(teams), notification)

    assert "[redacted]" in error.message
    assert "sig=" not in error.message


def test_teams_request_carries_no_secret(
    teams: SlackStub, make_credential: MakeCredential, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credential, token = make_credential(expires_at=NOW + timedelta(days=3))
    channel = teams_channel_make(url=teams.webhook_url(TEAMS_PATH))
    reminder = reminder_make(credential=credential, channel=channel, threshold=3)

    transport_for(channel, integration=credential.integration).send(
        reminder_notification(reminder=reminder, now=NOW)
    )

    body = teams.requests[0].text
    for secret in (token, ATLASSIAN_URL, ATLASSIAN_URL.rsplit("/", 1)[-1], SIG):
        assert secret not in body
        assert secret not in caplog.text
    assert credential.fingerprint[:12] not in body
    assert SIG not in repr(transport_for(channel, integration=None))


def test_transport_for_a_teams_channel_without_a_webhook_is_permanent(db: Any) -> None:
    channel = Channel.objects.create(kind=ChannelKind.TEAMS, name="empty")

    with pytest.raises(TransportError) as info:
        transport_for(channel, integration=None)

    assert info.value.permanent
