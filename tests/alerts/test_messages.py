"""What reminder and test messages say (subject, text, HTML, Slack), and what they never say."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts import messages
from alerts.models import Channel, ChannelKind, Reminder
from alerts.transports import Notification
from keyvault.vault.providers import IdentityProvider
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, reminder_make


def make_reminder(
    make_credential: MakeCredential, *, expires_at: datetime, threshold: int = 7, **fields: Any
) -> tuple[Reminder, str]:
    credential, token = make_credential(expires_at=expires_at, **fields)
    channel, _ = Channel.objects.get_or_create(
        name="ops", defaults={"kind": ChannelKind.EMAIL, "email_recipients": "ops@example.com"}
    )
    reminder = reminder_make(
        credential=credential,
        channel=channel,
        threshold=threshold,
    )
    return reminder, token


def all_text(notification: Notification) -> str:
    return "\n".join(
        [
            notification.subject,
            notification.text,
            notification.html,
            notification.slack_text,
            json.dumps(notification.slack_blocks, ensure_ascii=False),
        ]
    )


def slack_fields(notification: Notification) -> dict[str, str]:
    section = next(b for b in notification.slack_blocks if b["type"] == "section")
    out = {}
    for field in section["fields"]:
        label, _, value = field["text"].partition("\n")
        out[label.strip("*")] = value
    return out


def test_reminder_says_which_integration_idp_expiry_days_left_owner_and_links_to_rotate(
    make_credential: MakeCredential, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    settings.SITE_URL = "https://keyvault.example.com"
    reminder, _ = make_reminder(
        make_credential,
        name="Atlassian Cloud — acme (Okta SCIM)",
        expires_at=datetime(2026, 3, 8, 9, 0, tzinfo=UTC),
        identity_provider=IdentityProvider.OKTA,
        owner="Dana Ops",
        owner_email="dana@example.com",
    )
    integration = reminder.credential.integration

    n = messages.reminder_notification(reminder=reminder, now=NOW)

    assert n.subject == (
        "[keyvault] Atlassian Cloud — acme (Okta SCIM): credential expires in 7 days (8 Mar 2026)"
    )
    assert "8 Mar 2026, 10:00 CET" in n.text  # local time, not UTC
    assert "Identity provider:  Okta" in n.text
    assert "Days left:          7" in n.text
    assert "Dana Ops <dana@example.com>" in n.text
    fields = slack_fields(n)
    assert fields == {
        "Integration": "Atlassian Cloud — acme (Okta SCIM)",
        "Identity provider": "Okta",
        "Expires": "8 Mar 2026, 10:00 CET",
        "Days left": "7",
        "Owner": "Dana Ops &lt;dana@example.com&gt;",
        "Provider": "Atlassian (SCIM API key)",
    }
    header = n.slack_blocks[0]
    assert header["type"] == "header"
    assert "expires in 7 days" in header["text"]["text"]
    [button] = next(b for b in n.slack_blocks if b["type"] == "actions")["elements"]
    rotate = f"https://keyvault.example.com/integrations/{integration.pk}/rotate/"
    assert button["url"] == rotate
    assert button["style"] == "primary"
    assert rotate in n.text
    assert f'href="{rotate}"' in n.html
    assert rotate in n.slack_text


def test_overdue_reminder_counts_days_overdue(make_credential: MakeCredential) -> None:
    reminder, _ = make_reminder(
        make_credential,
        issued_at=NOW - timedelta(days=400),
        expires_at=NOW - timedelta(days=3),
        now=NOW - timedelta(days=400),
        threshold=-3,
    )

    n = messages.reminder_notification(reminder=reminder, now=NOW)

    assert "credential expired 3 days ago" in n.subject
    assert slack_fields(n)["Days overdue"] == "3"
    assert "Days overdue:       3" in n.text
    assert "has expired" in n.text
    [button] = next(b for b in n.slack_blocks if b["type"] == "actions")["elements"]
    assert button["style"] == "danger"


@pytest.mark.parametrize(
    ("expires_at", "now", "phrase"),
    [
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), NOW, "expires tomorrow"),
        (datetime(2026, 3, 1, 18, 0, tzinfo=UTC), NOW, "expires today"),
        (datetime(2026, 3, 1, 8, 0, tzinfo=UTC), NOW, "expired today"),
        (datetime(2026, 2, 28, 8, 0, tzinfo=UTC), NOW, "expired yesterday"),
    ],
)
def test_due_phrase_reads_naturally_around_the_expiry_day(
    expires_at: datetime, now: datetime, phrase: str
) -> None:
    assert messages.Due.at(expires_at, now=now).phrase == phrase


def test_days_are_counted_in_local_calendar_days(settings: Any) -> None:
    # 23:30 UTC on 8 March is already 9 March in Berlin: 8 local days from 1 March, not 7.
    settings.TIME_ZONE = "Europe/Berlin"
    expires = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    assert messages.Due.at(expires, now=NOW).days == 8
    assert messages.local_datetime(expires) == "9 Mar 2026, 00:30 CET"
    settings.TIME_ZONE = "UTC"
    assert messages.Due.at(expires, now=NOW).days == 7


def test_expiry_after_the_spring_dst_change_is_shown_in_summer_time(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    # Clocks go forward on 29 March 2026 at 01:00 UTC.
    expires = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert messages.local_datetime(expires) == "29 Mar 2026, 03:30 CEST"
    now = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 CET on the 28th
    assert messages.Due.at(expires, now=now).phrase == "expires tomorrow"


def test_reminder_never_contains_a_secret(make_credential: MakeCredential) -> None:
    reminder, token = make_reminder(make_credential, expires_at=NOW + timedelta(days=14))
    credential = reminder.credential

    text = all_text(messages.reminder_notification(reminder=reminder, now=NOW))

    assert token not in text
    assert token[-4:] not in text  # not even the hint
    assert ATLASSIAN_URL not in text
    assert ATLASSIAN_URL.rsplit("/", 1)[-1] not in text  # the directory id
    assert credential.fingerprint[:8] not in text
    sealed = bytes(credential.token_ciphertext)
    assert sealed.hex()[12:36] not in text
    assert base64.b64encode(sealed)[8:32].decode() not in text


def test_names_are_escaped_in_html_and_slack(make_credential: MakeCredential) -> None:
    reminder, _ = make_reminder(
        make_credential,
        name='Ops <script>alert(1)</script> & "Co"',
        expires_at=NOW + timedelta(days=7),
        owner="<@U123> <!channel>",
    )

    n = messages.reminder_notification(reminder=reminder, now=NOW)

    assert "<script>" not in n.html
    assert "&lt;script&gt;" in n.html
    fields = slack_fields(n)
    # Slack mrkdwn control characters are escaped, so no mention or link is injected.
    assert fields["Integration"] == 'Ops &lt;script&gt;alert(1)&lt;/script&gt; &amp; "Co"'
    assert fields["Owner"] == "&lt;@U123&gt; &lt;!channel&gt;"
    assert "<!channel>" not in n.slack_text
    # The header is plain text: shown as typed.
    assert 'Ops <script>alert(1)</script> & "Co"' in n.slack_blocks[0]["text"]["text"]
    assert "<script>" in n.text  # plain text is not HTML


def test_long_names_keep_the_slack_header_within_its_limit(
    make_credential: MakeCredential,
) -> None:
    reminder, _ = make_reminder(make_credential, name="N" * 200, expires_at=NOW + timedelta(1))

    n = messages.reminder_notification(reminder=reminder, now=NOW)

    assert len(n.slack_blocks[0]["text"]["text"]) <= 150
    assert "\n" not in n.subject


def test_test_notification_says_it_is_a_test_and_links_to_the_channel(
    db: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://keyvault.example.com"
    channel = Channel.objects.create(kind=ChannelKind.SLACK, name="#it-ops & friends")

    n = messages.test_notification(channel=channel, now=NOW)

    assert n.subject == "[keyvault] Test notification for “#it-ops & friends”"
    assert "test notification" in n.text.lower()
    assert "1 Mar 2026, 09:00 UTC" in n.text
    link = f"https://keyvault.example.com/channels/{channel.pk}/"
    assert link in n.text
    assert f'href="{link}"' in n.html
    assert "&amp; friends" in n.html
    assert "Test notification" in n.slack_blocks[0]["text"]["text"]
    assert f"<{link}|" in json.dumps(n.slack_blocks)
    assert "#it-ops &amp; friends" in n.slack_blocks[1]["text"]["text"]
