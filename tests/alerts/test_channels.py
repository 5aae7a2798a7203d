"""Channel pages and services: create, edit, delete, test; audited; the webhook stays secret."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Channel, ChannelKind, Reminder, ReminderStatus, ScanHeartbeat
from keyvault.audit.chain import audit_verify
from keyvault.models import AuditAction, AuditEvent
from tests.factories import NOW, MakeCredential, reminder_make, slack_channel_make
from tests.stubs import SlackStub, SmtpStub

SECRET_PART = "xK9sEcReTwEbHoOkPaRt42zz"
SLACK_URL = f"https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/{SECRET_PART}"


def create_url(kind: str) -> str:
    return reverse("alerts:channel_create", kwargs={"kind": kind})


def slack_post(**overrides: Any) -> dict[str, Any]:
    return {"name": "#it-ops", "webhook_url": SLACK_URL, **overrides}


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def assert_nowhere_in_database(secret: str) -> None:
    """No row of any table holds ``secret`` in clear."""
    for model in apps.get_models():
        for row in model._default_manager.all().values():
            assert secret not in json.dumps(row, default=str), model.__name__


#: The channel most tests here start from: a Slack channel, not a default one.
make_slack_channel = partial(
    slack_channel_make, url=SLACK_URL, hint="hooks.slack.com/…/42zz", is_default=False
)


# --- create ---------------------------------------------------------------------------------


def test_admin_creates_slack_channel_stored_encrypted_and_audited(
    admin_client: Client, integration: Any
) -> None:
    response = admin_client.post(
        create_url("slack"), slack_post(is_default="on", integrations=[str(integration.pk)])
    )

    channel = Channel.objects.get(name="#it-ops")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "alerts:channel_detail", kwargs={"channel_id": channel.pk}
    )
    assert channel.kind == ChannelKind.SLACK
    assert channel.is_default
    assert list(channel.integrations.all()) == [integration]
    assert channel.unseal("webhook_ciphertext") == SLACK_URL
    assert channel.webhook_hint == "hooks.slack.com/…/42zz"
    assert_nowhere_in_database(SECRET_PART)
    [event] = events(AuditAction.CHANNEL_CREATED)
    assert event.actor is not None and event.actor.username == "alice"
    assert event.target_id == str(channel.pk)
    assert event.details["webhook"] == "hooks.slack.com/…/42zz"
    assert event.details["integrations"] == [integration.name]
    assert SECRET_PART not in json.dumps(event.details)
    assert audit_verify().ok


def test_webhook_never_appears_in_channel_pages(admin_client: Client) -> None:
    admin_client.post(create_url("slack"), slack_post())
    channel = Channel.objects.get(name="#it-ops")

    for name in ("channel_list", "channel_detail", "channel_edit", "channel_delete"):
        kwargs = {} if name == "channel_list" else {"channel_id": channel.pk}
        page = admin_client.get(reverse(f"alerts:{name}", kwargs=kwargs))
        assert page.status_code == 200, name
        assert SECRET_PART not in page.content.decode(), name
    detail = admin_client.get(reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk}))
    assert "hooks.slack.com/…/42zz" in detail.content.decode()


def test_form_shown_again_after_an_error_does_not_echo_the_webhook(admin_client: Client) -> None:
    response = admin_client.post(create_url("slack"), slack_post(name=""))

    assert response.status_code == 200
    assert SECRET_PART not in response.content.decode()
    assert "This field is required." in response.context["form"].errors["name"]
    assert Channel.objects.filter(kind=ChannelKind.SLACK).count() == 0
    assert events(AuditAction.CHANNEL_CREATED) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Paste the webhook URL: it is empty."),
        ("http://hooks.slack.com/services/T0/B0/abc", "The URL must start with https://"),
        ("ftp://example.com/hook", "This is not a webhook URL"),
        ("https://hooks.slack.com/", "The URL has no path"),
        ("https://hooks.slack.com/services/T0/B0", "looks cut short"),
        ("https://user:pw@relay.example.com/hook", "must not carry a user name or password"),
        ("https://hooks.slack.com/services/T0/B0/a b", "spaces or invisible characters"),
    ],
)
def test_bad_webhook_url_gets_a_clear_message_and_saves_nothing(
    admin_client: Client, url: str, message: str
) -> None:
    response = admin_client.post(create_url("slack"), slack_post(webhook_url=url))

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["webhook_url"])
    assert message in errors
    if url:
        assert url not in errors  # messages never quote the URL
    assert not Channel.objects.filter(name="#it-ops").exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://chat.example.com/hooks/abc123",  # a Slack-compatible service
        "http://127.0.0.1:8765/services/T0/B0/abc",  # a relay on this machine
    ],
)
def test_any_https_webhook_and_loopback_http_are_accepted(admin_client: Client, url: str) -> None:
    response = admin_client.post(create_url("slack"), slack_post(webhook_url=url))

    assert response.status_code == 302
    assert Channel.objects.get(name="#it-ops").unseal("webhook_ciphertext") == url


def test_admin_creates_email_channel_with_validated_recipients(admin_client: Client) -> None:
    response = admin_client.post(
        create_url("email"),
        {
            "name": "IT ops (email)",
            "email_recipients": "ops@example.com;  sec@example.com,ops@example.com",
            "email_to_owner": "on",
        },
    )

    assert response.status_code == 302
    channel = Channel.objects.get(name="IT ops (email)")
    assert channel.kind == ChannelKind.EMAIL
    assert channel.email_recipients == "ops@example.com, sec@example.com"
    assert channel.email_to_owner
    [event] = events(AuditAction.CHANNEL_CREATED)
    assert event.details["recipients"] == ["ops@example.com", "sec@example.com"]


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        (
            {"name": "x", "email_recipients": "ops@example.com, bob@"},
            "email_recipients",
            "Not a valid email address: “bob@”",
        ),
        (
            {"name": "x", "email_recipients": ""},
            "email_recipients",
            "Add at least one address, or send to each integration's owner.",
        ),
        ({"name": "   ", "email_recipients": "a@example.com"}, "name", "required"),
    ],
)
def test_bad_email_channel_input_gets_a_message_on_the_field(
    admin_client: Client, post: dict[str, str], field: str, message: str
) -> None:
    response = admin_client.post(create_url("email"), post)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Channel.objects.filter(name="x").exists()


def test_duplicate_channel_name_is_reported_on_the_name(admin_client: Client) -> None:
    make_slack_channel(name="#it-ops")

    response = admin_client.post(create_url("slack"), slack_post(name="#it-ops"))

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A channel with this name already exists."]
    assert events(AuditAction.CHANNEL_CREATED) == []


def test_unknown_channel_kind_is_404(admin_client: Client) -> None:
    assert admin_client.get(create_url("pager")).status_code == 404


# --- edit -----------------------------------------------------------------------------------


def test_edit_with_empty_webhook_keeps_it_and_audits_what_changed(
    admin_client: Client, integration: Any
) -> None:
    channel = make_slack_channel()

    response = admin_client.post(
        reverse("alerts:channel_edit", kwargs={"channel_id": channel.pk}),
        {"name": "#it-ops-alerts", "webhook_url": "", "integrations": [str(integration.pk)]},
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "#it-ops-alerts"
    assert channel.unseal("webhook_ciphertext") == SLACK_URL
    [event] = events(AuditAction.CHANNEL_CHANGED)
    assert event.details["changed"] == {
        "name": {"from": "#it-ops", "to": "#it-ops-alerts"},
        "integrations": {"from": [], "to": [integration.name]},
    }


def test_edit_replacing_the_webhook_audits_hints_only(admin_client: Client) -> None:
    channel = make_slack_channel()
    new_secret = "NeWsEcReTpArT000000099yy"

    admin_client.post(
        reverse("alerts:channel_edit", kwargs={"channel_id": channel.pk}),
        {
            "name": "#it-ops",
            "webhook_url": f"https://hooks.slack.com/services/T01/B02/{new_secret}",
        },
    )

    channel.refresh_from_db()
    assert channel.unseal("webhook_ciphertext").endswith(new_secret)
    assert channel.webhook_hint == "hooks.slack.com/…/99yy"
    [event] = events(AuditAction.CHANNEL_CHANGED)
    assert event.details["changed"] == {
        "webhook": {"from": "hooks.slack.com/…/42zz", "to": "hooks.slack.com/…/99yy"}
    }
    assert_nowhere_in_database(new_secret)
    assert_nowhere_in_database(SECRET_PART)


def test_edit_that_changes_nothing_writes_no_audit_event(admin_client: Client) -> None:
    channel = make_slack_channel()

    response = admin_client.post(
        reverse("alerts:channel_edit", kwargs={"channel_id": channel.pk}),
        {"name": "#it-ops", "webhook_url": SLACK_URL},
    )

    assert response.status_code == 302
    assert events(AuditAction.CHANNEL_CHANGED) == []


def test_edit_with_a_bad_email_keeps_the_old_recipients(admin_client: Client) -> None:
    channel = Channel.objects.create(
        kind=ChannelKind.EMAIL, name="mail", email_recipients="ops@example.com"
    )

    response = admin_client.post(
        reverse("alerts:channel_edit", kwargs={"channel_id": channel.pk}),
        {"name": "renamed", "email_recipients": "not-an-address"},
    )

    assert response.status_code == 200
    channel.refresh_from_db()
    assert (channel.name, channel.email_recipients) == ("mail", "ops@example.com")
    assert events(AuditAction.CHANNEL_CHANGED) == []


# --- delete ---------------------------------------------------------------------------------


def test_delete_removes_channel_and_its_reminders_and_is_audited(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    channel = make_slack_channel()
    credential, _ = make_credential()
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
    )
    url = reverse("alerts:channel_delete", kwargs={"channel_id": channel.pk})
    confirm = admin_client.get(url)
    assert "1 reminder still waiting" in confirm.content.decode()

    response = admin_client.post(url)

    assert response.status_code == 302
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Reminder.objects.exists()
    [event] = events(AuditAction.CHANNEL_DELETED)
    assert event.details == {
        "name": "#it-ops",
        "kind": "slack",
        "pending_reminders_dropped": 1,
        "webhook": "hooks.slack.com/…/42zz",
    }
    assert audit_verify().ok


# --- test notification ----------------------------------------------------------------------


def test_test_notification_to_slack_reports_success_and_is_audited(
    admin_client: Client, slack: SlackStub
) -> None:
    channel = make_slack_channel(url=slack.webhook_url(f"/services/T0/B0/{SECRET_PART}"))

    response = admin_client.post(
        reverse("alerts:channel_test", kwargs={"channel_id": channel.pk}), follow=True
    )

    page = response.content.decode()
    assert "Test notification sent to “#it-ops”." in page
    [request] = slack.requests
    assert "Test notification" in request.json["text"]
    [event] = events(AuditAction.CHANNEL_TESTED)
    assert event.details == {"ok": True, "channel": "#it-ops", "kind": "slack"}
    assert event.target_id == str(channel.pk)


def test_test_notification_reports_the_exact_error_without_the_url(
    admin_client: Client, slack: SlackStub
) -> None:
    slack.script((404, {}, "no_service"))
    channel = make_slack_channel(url=slack.webhook_url(f"/services/T0/B0/{SECRET_PART}"))

    response = admin_client.post(
        reverse("alerts:channel_test", kwargs={"channel_id": channel.pk}), follow=True
    )

    page = response.content.decode()
    expected = (
        "The test notification failed: Slack answered HTTP 404 (no_service: the webhook was"
        " removed or its app disabled). Check the webhook and update the channel."
    )
    assert expected in page
    assert SECRET_PART not in page
    [event] = events(AuditAction.CHANNEL_TESTED)
    assert event.details["ok"] is False
    assert event.details["permanent"] is True
    assert "no_service" in event.details["error"]
    assert SECRET_PART not in json.dumps(event.details)


def test_test_notification_by_email_is_delivered(admin_client: Client, smtp: SmtpStub) -> None:
    channel = Channel.objects.create(
        kind=ChannelKind.EMAIL, name="mail", email_recipients="ops@example.com"
    )

    response = admin_client.post(
        reverse("alerts:channel_test", kwargs={"channel_id": channel.pk}), follow=True
    )

    assert "Test notification sent to “mail”." in response.content.decode()
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["ops@example.com"]
    assert "Test notification" in str(mail.message["Subject"])


def test_test_notification_to_owner_only_channel_explains_why_it_cannot_go(
    admin_client: Client, smtp: SmtpStub
) -> None:
    channel = Channel.objects.create(kind=ChannelKind.EMAIL, name="owners", email_to_owner=True)

    response = admin_client.post(
        reverse("alerts:channel_test", kwargs={"channel_id": channel.pk}), follow=True
    )

    assert "sends to each integration&#x27;s owner" in response.content.decode()
    assert smtp.messages == []


def test_test_notification_needs_post(admin_client: Client) -> None:
    channel = make_slack_channel()
    url = reverse("alerts:channel_test", kwargs={"channel_id": channel.pk})
    assert admin_client.get(url).status_code == 405


# --- failures shown on the channel page -------------------------------------------------------


def test_channel_page_lists_recent_failed_reminders_with_their_error(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    channel = make_slack_channel()
    credential, _ = make_credential(name="Okta → Atlassian")
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=3,
        claimed_at=NOW,
        attempts=5,
        status=ReminderStatus.FAILED,
        last_error="Slack answered HTTP 404 (no_service: the webhook was removed)",
    )
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
        status=ReminderStatus.SENT,
    )

    page = admin_client.get(reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk}))

    failures = page.context["failures"]
    assert [r.threshold for r in failures] == [3]
    html = page.content.decode()
    assert "Okta → Atlassian" in html
    assert "3 days before expiry" in html
    assert "no_service: the webhook was removed" in html
    listing = admin_client.get(reverse("alerts:channel_list")).content.decode()
    assert "1 failed" in listing


# --- roles ----------------------------------------------------------------------------------


def test_auditor_may_read_channels_but_change_nothing(auditor_client: Client) -> None:
    channel = make_slack_channel()
    pk = {"channel_id": channel.pk}

    assert auditor_client.get(reverse("alerts:channel_list")).status_code == 200
    detail = auditor_client.get(reverse("alerts:channel_detail", kwargs=pk))
    assert detail.status_code == 200
    assert "Send test notification" not in detail.content.decode()
    assert auditor_client.get(create_url("slack")).status_code == 403
    assert auditor_client.post(create_url("slack"), slack_post(name="#x")).status_code == 403
    assert auditor_client.post(reverse("alerts:channel_edit", kwargs=pk), {}).status_code == 403
    assert auditor_client.post(reverse("alerts:channel_delete", kwargs=pk)).status_code == 403
    assert auditor_client.post(reverse("alerts:channel_test", kwargs=pk)).status_code == 403
    assert Channel.objects.filter(pk=channel.pk, name="#it-ops").exists()
    assert not Channel.objects.filter(name="#x").exists()
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.CHANNEL_CREATED, AuditAction.CHANNEL_CHANGED]
    ).exists()


def test_signed_out_visitor_is_sent_to_login(client: Client, db: Any) -> None:
    response = client.get(reverse("alerts:channel_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- dashboard strip ------------------------------------------------------------------------


def test_dashboard_shows_failed_deliveries_with_a_link_to_the_channels(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    channel = make_slack_channel()
    credential, _ = make_credential()
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
        status=ReminderStatus.FAILED,
        last_error="Slack answered HTTP 404 (no_service)",
    )

    html = auditor_client.get(reverse("keyvault:dashboard")).content.decode()

    assert "1 reminder could not be delivered." in html
    assert f'href="{reverse("alerts:channel_list")}">Check the reminder channels' in html


def test_dashboard_has_no_failure_banner_when_all_reminders_went_out(
    admin_client: Client,
) -> None:
    html = admin_client.get(reverse("keyvault:dashboard")).content.decode()

    assert 'id="reminder-status"' in html
    assert "could not be delivered" not in html


@pytest.mark.parametrize(
    ("minutes_ago", "text", "stale"),
    [(10, "Last reminder scan\n    <time", False), (60, "seems to be stopped", True)],
)
def test_dashboard_shows_last_scan_age_and_turns_red_when_stale(
    admin_client: Client, settings: Any, minutes_ago: int, text: str, stale: bool
) -> None:
    settings.KEYVAULT_SCAN_INTERVAL_SECONDS = 900  # stale after 3 periods = 45 minutes
    settings.KEYVAULT_SCAN_STALE_PERIODS = 3
    ScanHeartbeat.objects.update_or_create(
        pk=1, defaults={"last_scan_at": timezone.now() - timedelta(minutes=minutes_ago)}
    )

    html = admin_client.get(reverse("keyvault:dashboard")).content.decode()

    assert text in html
    assert f"{minutes_ago} minutes ago" in html
    scan_line = html.split('id="reminder-scan"')[0].rsplit("<p", 1)[1]
    assert ("message--error" in scan_line) is stale
