"""Teams and webhook channel pages: create, edit, test, delete, and the webhook's signing
secret — generated, shown once, rotatable, audited, never stored or shown in clear again."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from alerts.models import Channel, ChannelKind
from keyvault.audit.chain import audit_verify
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent
from tests.factories import teams_channel_make, webhook_channel_make
from tests.stubs import SlackStub

SIG = "xTeAmSsIgPaRt9876543210zz"
TEAMS_URL = (
    "https://prod-27.westeurope.logic.azure.com:443/workflows/9a8b7c6d/triggers/manual/paths/"
    f"invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
HOOK_SECRET = "rEcEiVeRtOkEn0123456789"
HOOK_URL = f"https://siem.example.com/ingest/{HOOK_SECRET}"
WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


def create_url(kind: str) -> str:
    return reverse("alerts:channel_create", kwargs={"kind": kind})


def channel_url(name: str, channel: Channel) -> str:
    return reverse(f"alerts:{name}", kwargs={"channel_id": channel.pk})


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def database_text() -> str:
    """Every row of every table, as text."""
    return "".join(
        json.dumps(row, default=str)
        for model in apps.get_models()
        for row in model._default_manager.all().values()
    )


def shown_secret(response: Any) -> str:
    [secret] = set(WHSEC.findall(response.content.decode()))
    return secret


# --- Teams ----------------------------------------------------------------------------------


def test_admin_creates_teams_channel_stored_encrypted_and_audited(
    admin_client: Client, integration: Any
) -> None:
    response = admin_client.post(
        create_url("teams"),
        {"name": "IT ops (Teams)", "webhook_url": TEAMS_URL, "integrations": [integration.pk]},
    )

    channel = Channel.objects.get(name="IT ops (Teams)")
    assert response.status_code == 302
    assert channel.kind == ChannelKind.TEAMS
    assert channel.unseal("webhook_ciphertext") == TEAMS_URL
    assert channel.webhook_hint == "prod-27.westeurope.logic.az…/…/10zz"
    assert SIG not in database_text()
    [event] = events(AuditAction.CHANNEL_CREATED)
    assert event.details["kind"] == "teams"
    assert event.details["webhook"] == channel.webhook_hint
    assert event_sentence(event).startswith("alice created the Teams channel “IT ops (Teams)”")
    for name in ("channel_detail", "channel_edit", "channel_delete"):
        assert SIG not in admin_client.get(channel_url(name, channel)).content.decode()
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Paste the webhook URL: it is empty."),
        (TEAMS_URL.replace("https://", "http://"), "The URL must start with https://"),
        (TEAMS_URL.split("&sig=")[0], "its sig=… part is missing"),
        (
            "https://acme.webhook.office.com/webhookb2/1234@5678/IncomingWebhook/abc/def",
            "Office 365 connector URL",
        ),
        ("https://prod-27.westeurope.logic.azure.com/", "The URL has no path"),
    ],
)
def test_bad_teams_url_gets_a_field_error_and_saves_nothing(
    admin_client: Client, url: str, message: str
) -> None:
    response = admin_client.post(create_url("teams"), {"name": "IT ops", "webhook_url": url})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["webhook_url"])
    assert not Channel.objects.filter(name="IT ops").exists()
    assert events(AuditAction.CHANNEL_CREATED) == []
    assert SIG not in response.content.decode()


def test_teams_channel_edit_keeps_the_url_when_left_empty_and_audits_a_new_one(
    admin_client: Client,
) -> None:
    channel = teams_channel_make(url=TEAMS_URL, is_default=False)
    new_url = TEAMS_URL.replace(SIG, "aNoThErSiGnAtUrE00000099yy")

    admin_client.post(channel_url("channel_edit", channel), {"name": "Teams", "webhook_url": ""})
    channel.refresh_from_db()
    assert channel.unseal("webhook_ciphertext") == TEAMS_URL

    admin_client.post(
        channel_url("channel_edit", channel), {"name": "Teams", "webhook_url": new_url}
    )
    channel.refresh_from_db()
    assert channel.unseal("webhook_ciphertext") == new_url
    changed = events(AuditAction.CHANNEL_CHANGED)[-1].details["changed"]
    assert changed["webhook"]["to"].endswith("/…/99yy")
    assert "aNoThEr" not in json.dumps(changed)


def test_teams_test_notification_reaches_the_workflow_and_is_audited(
    admin_client: Client, slack: SlackStub
) -> None:
    channel = teams_channel_make(url=slack.webhook_url(f"/invoke?sv=1.0&sig={SIG}"))
    slack.script((202, {}, ""))

    response = admin_client.post(channel_url("channel_test", channel), follow=True)

    assert "Test notification sent" in response.content.decode()
    assert slack.requests[0].json["attachments"][0]["content"]["type"] == "AdaptiveCard"
    [event] = events(AuditAction.CHANNEL_TESTED)
    assert event.details["ok"] is True
    assert event.details["kind"] == "teams"


# --- webhook --------------------------------------------------------------------------------


def test_creating_a_webhook_channel_shows_its_signing_secret_once(admin_client: Client) -> None:
    response = admin_client.post(
        create_url("webhook"), {"name": "SIEM", "webhook_url": HOOK_URL, "is_default": "on"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    channel = Channel.objects.get(name="SIEM")
    assert channel.kind == ChannelKind.WEBHOOK
    assert channel.unseal("signing_secret_ciphertext") == secret
    assert channel.unseal("webhook_ciphertext") == HOOK_URL
    stored = database_text()
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert HOOK_SECRET not in stored
    [event] = events(AuditAction.CHANNEL_CREATED)
    assert event.details["kind"] == "webhook"
    for name in ("channel_detail", "channel_edit", "channel_delete"):
        page = admin_client.get(channel_url(name, channel)).content.decode()
        assert WHSEC.search(page) is None, name
        assert HOOK_SECRET not in page
    assert WHSEC.search(admin_client.get(reverse("alerts:channel_list")).content.decode()) is None
    audit_page = admin_client.get(reverse("keyvault:audit_log")).content.decode()
    assert secret not in audit_page


def test_bad_webhook_url_gets_a_field_error_and_generates_no_secret(admin_client: Client) -> None:
    response = admin_client.post(
        create_url("webhook"), {"name": "SIEM", "webhook_url": "http://siem.example.com/in"}
    )

    assert response.status_code == 200
    assert "must start with https://" in " ".join(response.context["form"].errors["webhook_url"])
    assert WHSEC.search(response.content.decode()) is None
    assert not Channel.objects.filter(name="SIEM").exists()


def test_webhook_url_may_be_a_bare_host(admin_client: Client) -> None:
    response = admin_client.post(
        create_url("webhook"), {"name": "SIEM", "webhook_url": "https://siem.example.com"}
    )

    assert response.status_code == 200
    assert Channel.objects.get(name="SIEM").webhook_hint == "siem.example.com/…/"


def test_rotating_the_signing_secret_shows_a_new_one_once_and_audits_it(
    admin_client: Client, slack: SlackStub
) -> None:
    channel, old_secret = webhook_channel_make(url=slack.webhook_url("/hook"))

    response = admin_client.post(channel_url("channel_rotate_secret", channel))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = shown_secret(response)
    assert new_secret != old_secret
    channel.refresh_from_db()
    assert channel.unseal("signing_secret_ciphertext") == new_secret
    [event] = events(AuditAction.CHANNEL_CHANGED)
    assert event.details["signing_secret"] == "rotated"
    assert new_secret not in json.dumps(event.details)
    assert old_secret not in json.dumps(event.details)
    assert event_sentence(event) == (
        "alice rotated the signing secret of the webhook channel “SIEM webhook”"
    )
    assert audit_verify().ok
    # From now on events verify with the new secret only.
    admin_client.post(channel_url("channel_test", channel))
    delivered = slack.requests[-1]
    assert Webhook(new_secret).verify(delivered.body, delivered.headers)["type"] == "keyvault.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(delivered.body, delivered.headers)
    assert (
        WHSEC.search(admin_client.get(channel_url("channel_detail", channel)).content.decode())
        is None
    )


def test_rotating_a_secret_is_refused_for_other_kinds_and_by_get(admin_client: Client) -> None:
    teams = teams_channel_make(url=TEAMS_URL)
    webhook, _ = webhook_channel_make(url=HOOK_URL)

    assert admin_client.post(channel_url("channel_rotate_secret", teams)).status_code == 404
    assert admin_client.get(channel_url("channel_rotate_secret", webhook)).status_code == 405
    assert events(AuditAction.CHANNEL_CHANGED) == []


def test_auditor_cannot_add_change_test_rotate_or_delete_teams_and_webhook_channels(
    auditor_client: Client,
) -> None:
    teams = teams_channel_make(url=TEAMS_URL)
    webhook, secret = webhook_channel_make(url=HOOK_URL)

    for kind in ("teams", "webhook"):
        assert auditor_client.get(create_url(kind)).status_code == 403
        post = {"name": "x", "webhook_url": HOOK_URL}
        assert auditor_client.post(create_url(kind), post).status_code == 403
    for channel in (teams, webhook):
        for name in ("channel_edit", "channel_test", "channel_delete"):
            assert auditor_client.post(channel_url(name, channel)).status_code == 403
        page = auditor_client.get(channel_url("channel_detail", channel))
        assert page.status_code == 200
        assert "Rotate secret" not in page.content.decode()
    assert auditor_client.post(channel_url("channel_rotate_secret", webhook)).status_code == 403
    webhook.refresh_from_db()
    assert webhook.unseal("signing_secret_ciphertext") == secret
    assert Channel.objects.filter(kind__in=["teams", "webhook"]).count() == 2
    assert AuditEvent.objects.filter(action__startswith="channel.").count() == 0


def test_webhook_channel_test_notification_is_signed_and_audited(
    admin_client: Client, slack: SlackStub
) -> None:
    channel, secret = webhook_channel_make(url=slack.webhook_url(f"/in/{HOOK_SECRET}"))

    admin_client.post(channel_url("channel_test", channel))

    request = slack.requests[0]
    assert Webhook(secret).verify(request.body, request.headers)["channel"]["id"] == str(channel.pk)
    [event] = events(AuditAction.CHANNEL_TESTED)
    assert event.details["ok"] is True
    assert HOOK_SECRET not in json.dumps(event.details)


def test_deleting_a_webhook_channel_discards_its_secrets_and_is_audited(
    admin_client: Client,
) -> None:
    channel, _ = webhook_channel_make(url=HOOK_URL)

    page = admin_client.get(channel_url("channel_delete", channel)).content.decode()
    assert "webhook URL and signing secret are discarded" in page
    response = admin_client.post(channel_url("channel_delete", channel))

    assert response.status_code == 302
    assert not Channel.objects.filter(pk=channel.pk).exists()
    [event] = events(AuditAction.CHANNEL_DELETED)
    assert event.details["kind"] == "webhook"


def test_channel_list_offers_teams_and_webhook_channels_to_admins_only(
    admin_client: Client, auditor_client: Client
) -> None:
    admin_page = admin_client.get(reverse("alerts:channel_list")).content.decode()
    auditor_page = auditor_client.get(reverse("alerts:channel_list")).content.decode()

    for label, kind in (("Add Teams channel", "teams"), ("Add webhook channel", "webhook")):
        assert label in admin_page
        assert create_url(kind) in admin_page
        assert label not in auditor_page
    form = admin_client.get(create_url("webhook")).content.decode()
    assert "New webhook channel" in form
    assert "Endpoint URL" in form
    assert "New Microsoft Teams channel" in admin_client.get(create_url("teams")).content.decode()
