"""IdP-aware rotation: the runbook on the rotate page, the required "is the new key in the
identity provider?" answer, the "IdP not updated" badge, its reminder the next day, and
"Confirm IdP updated".

Slack is a real HTTP server on 127.0.0.1 (tests/stubs.py).
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from alerts.digest import digest_content
from alerts.models import Channel, Notice, NoticeKind, ReminderStatus
from alerts.notices import notice_deliver
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Rotation
from keyvault.rotation.idp import credential_idp_confirm, idp_not_updated_q, idp_reminders_raise
from keyvault.rotation.runbooks import runbook_for
from keyvault.rotation.services import credential_revoke, credential_rotate, rotation_secret_clean
from keyvault.vault.providers import IdentityProvider, ProviderKind
from tests.alerts.outbox_helpers import no_channels, slack_channel
from tests.factories import NOW, MakeCredential, new_token
from tests.stubs import SlackStub

__all__ = ["no_channels", "slack_channel"]

ROTATED = datetime(2026, 3, 10, 8, 0, tzinfo=NOW.tzinfo)  # a Tuesday, 08:00 UTC
INPLACE = {"HTTP_X_KEYVAULT_FORM": "inplace"}


def text(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def rotate_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_rotate", kwargs={"integration_id": credential.integration_id}
    )


def detail_url(credential: Credential) -> str:
    return reverse(
        "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
    )


def confirm_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_idp_confirm", kwargs={"integration_id": credential.integration_id}
    )


def rotate(old: Credential, *, idp_updated: bool, now: datetime = ROTATED) -> Credential:
    secret = rotation_secret_clean(
        credential=old, scim_url=None, token=new_token(), expires_at=None, now=now
    )
    rotation = credential_rotate(
        credential=old, secret=secret, actor=None, now=now, idp_updated=idp_updated
    )
    return rotation.new_credential


# --- the runbook ---------------------------------------------------------------------------


def test_the_rotate_page_shows_the_atlassian_and_okta_runbook(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(identity_provider=IdentityProvider.OKTA)

    page = text(admin_client.get(rotate_url(credential)))

    assert "How to rotate: Atlassian → Okta" in page
    assert "Security → Identity providers → your directory → Provisioning" in page
    assert "Regenerate API key" in page
    assert "The old key stops working the moment the new one is made" in page
    assert "Applications → Atlassian Cloud → Provisioning → Integration" in page
    assert "Test API Credentials, then Save" in page
    assert (
        'href="https://admin.atlassian.com"'
        in admin_client.get(rotate_url(credential)).content.decode()
    )


def test_the_rotate_page_shows_the_atlassian_and_entra_runbook_with_its_40_minute_cycle(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(identity_provider=IdentityProvider.ENTRA_ID)

    page = text(admin_client.get(rotate_url(credential)))

    assert "How to rotate: Atlassian → Microsoft Entra ID" in page
    assert "Enterprise applications → Atlassian Cloud → Provisioning" in page
    assert "Secret Token" in page and "Test Connection" in page
    assert "Restart provisioning" in page
    assert "about 40 minutes" in page


def test_the_integration_page_shows_the_runbook_too(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(identity_provider=IdentityProvider.ONELOGIN)

    page = text(auditor_client.get(detail_url(credential)))

    assert "How to rotate: Atlassian → OneLogin" in page
    assert "SCIM Bearer Token" in page


def test_providers_that_keep_the_old_key_working_say_so_and_google_pushes_no_groups() -> None:
    okta_token = runbook_for(provider=ProviderKind.OKTA, identity_provider=IdentityProvider.NONE)
    assert okta_token.overlap is True
    assert "The old key keeps working" in okta_token.overlap_text
    assert okta_token.paste == ()
    google = runbook_for(provider=ProviderKind.ATLASSIAN, identity_provider=IdentityProvider.GOOGLE)
    assert google.overlap is False
    assert any("does not push groups" in note for note in google.notes)


@pytest.mark.parametrize("provider", list(ProviderKind))
@pytest.mark.parametrize("identity_provider", list(IdentityProvider))
def test_every_provider_and_identity_provider_pair_has_a_runbook(
    provider: str, identity_provider: str
) -> None:
    runbook = runbook_for(provider=provider, identity_provider=identity_provider)
    assert runbook.regenerate and runbook.overlap_text
    assert bool(runbook.paste) == (identity_provider != IdentityProvider.NONE)
    assert all("{" not in step.text for step in (*runbook.regenerate, *runbook.paste))


# --- the required answer ---------------------------------------------------------------------


@time_machine.travel(ROTATED, tick=False)
def test_the_rotate_form_refuses_a_rotation_without_the_idp_answer_and_saves_nothing(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    old, _ = make_credential()
    token = new_token()

    response = admin_client.post(rotate_url(old), {"credential": str(old.pk), "token": token})
    inplace = admin_client.post(
        rotate_url(old), {"credential": str(old.pk), "token": token}, **INPLACE
    )

    assert response.status_code == 200
    page = text(response)
    assert "Say whether Okta has the new key: choose “yes” or “not yet”." in page
    assert token not in response.content.decode()
    assert inplace.status_code == 422
    assert inplace.json()["errors"] == {
        "idp_updated": ["Say whether Okta has the new key: choose “yes” or “not yet”."]
    }
    assert not Rotation.objects.exists()
    old.refresh_from_db()
    assert old.state == CredentialState.CURRENT


@time_machine.travel(ROTATED, tick=False)
def test_not_yet_shows_the_badge_on_the_dashboard_and_the_integration_page(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    old, _ = make_credential(name="Atlassian — acme")
    answered_yes, _ = make_credential(name="Atlassian — beta")
    admin_client.post(
        rotate_url(old),
        {"credential": str(old.pk), "token": new_token(), "idp_updated": "not_yet"},
    )
    admin_client.post(
        rotate_url(answered_yes),
        {"credential": str(answered_yes.pk), "token": new_token(), "idp_updated": "yes"},
    )

    new = Credential.objects.get(integration=old.integration, state=CredentialState.CURRENT)
    assert new.idp_pending is True
    assert Rotation.objects.get(new_credential=new).idp_updated is False
    assert list(Credential.objects.filter(idp_not_updated_q())) == [new]
    dashboard = admin_client.get(reverse("keyvault:dashboard")).content.decode()
    acme, beta = (
        dashboard.split("Atlassian — acme")[1].split("</tr>")[0],
        dashboard.split("Atlassian — beta")[1].split("</tr>")[0],
    )
    assert "IdP not updated" in acme and "IdP not updated" not in beta
    detail = text(admin_client.get(detail_url(new)))
    assert "IdP not updated" in detail
    assert "nobody has confirmed that Okta has it" in detail
    assert "Confirm IdP updated" in detail


# --- the reminder ----------------------------------------------------------------------------


@override_settings(KEYVAULT_IDP_REMINDER_HOUR=9, TIME_ZONE="UTC")
def test_the_reminder_reaches_slack_once_the_next_day_and_not_before(
    make_credential: MakeCredential, slack_channel: Channel, slack: SlackStub
) -> None:
    old, token = make_credential(name="Atlassian — acme")
    new = rotate(old, idp_updated=False)

    def deliver(now: datetime) -> None:
        for notice in Notice.objects.filter(status=ReminderStatus.PENDING):
            notice_deliver(notice_id=notice.pk, now=now)

    for not_yet in (ROTATED + timedelta(hours=1), ROTATED + timedelta(hours=23, minutes=59)):
        assert idp_reminders_raise(now=not_yet) == 0
    # A day has passed at 08:30 the next day, but reminders wait for 09:00.
    assert idp_reminders_raise(now=ROTATED + timedelta(hours=24, minutes=30)) == 0
    assert not Notice.objects.exists() and slack.requests == []

    next_day = ROTATED + timedelta(hours=25)
    assert idp_reminders_raise(now=next_day) == 1
    deliver(next_day)
    assert idp_reminders_raise(now=next_day + timedelta(hours=1)) == 0
    assert idp_reminders_raise(now=next_day + timedelta(days=1)) == 0
    deliver(next_day + timedelta(days=1))

    assert len(slack.requests) == 1
    body = json.loads(slack.requests[0].text)["text"]
    assert "Atlassian — acme: Okta not yet updated with the new key" in body
    assert token not in slack.requests[0].text and new.fingerprint not in slack.requests[0].text
    notice = Notice.objects.get()
    assert (notice.kind, notice.status) == (NoticeKind.IDP_NOT_UPDATED, ReminderStatus.SENT)


@override_settings(KEYVAULT_IDP_REMINDER_HOUR=0)
def test_no_reminder_for_a_yes_a_confirmed_key_or_a_key_rotated_again_or_revoked(
    make_credential: MakeCredential, slack_channel: Channel
) -> None:
    answered_yes = rotate(make_credential()[0], idp_updated=True)
    confirmed = rotate(make_credential()[0], idp_updated=False)
    credential_idp_confirm(actor=None, credential=confirmed, now=ROTATED + timedelta(hours=2))
    rotated_again = rotate(make_credential()[0], idp_updated=False)
    newest = rotate(rotated_again, idp_updated=True, now=ROTATED + timedelta(hours=3))
    revoked = rotate(make_credential()[0], idp_updated=False)
    credential_revoke(credential=revoked, reason="leaked", actor=None, now=ROTATED)

    assert idp_reminders_raise(now=ROTATED + timedelta(days=2)) == 0
    for credential in (answered_yes, confirmed, rotated_again, newest, revoked):
        credential.refresh_from_db()
        assert credential.idp_pending is False
    assert not Notice.objects.exists()


# --- confirming ------------------------------------------------------------------------------


@override_settings(KEYVAULT_IDP_REMINDER_HOUR=0)
def test_confirming_clears_the_badge_cancels_the_reminder_and_is_audited_once(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential, slack_channel: Channel
) -> None:
    new = rotate(make_credential(name="Atlassian — acme")[0], idp_updated=False)
    idp_reminders_raise(now=ROTATED + timedelta(days=1))
    assert Notice.objects.get().status == ReminderStatus.PENDING

    with time_machine.travel(ROTATED + timedelta(days=1, hours=1), tick=False):
        response = admin_client.post(confirm_url(new), {"credential": str(new.pk)}, follow=True)
        again = admin_client.post(confirm_url(new), {"credential": str(new.pk)}, follow=True)

    assert response.redirect_chain[-1][0] == detail_url(new)
    assert f"Confirmed: Okta has the key ····{new.hint}." in text(response)
    assert "IdP not updated" not in text(response)
    assert "Nothing to confirm" in text(again)
    new.refresh_from_db()
    assert new.idp_pending is False
    assert Notice.objects.get().status == ReminderStatus.CANCELLED
    rotation = Rotation.objects.get(new_credential=new)
    assert rotation.idp_confirmed_at == ROTATED + timedelta(days=1, hours=1)
    (event,) = AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_IDP_CONFIRMED)
    assert event.actor_id == admin_user.pk and event.target_id == str(new.pk)
    assert event_sentence(event) == (
        f"alice confirmed that Okta has the Atlassian — acme key ····{new.hint}"
        " (rotated on 10 Mar 2026)"
    )
    history = admin_client.get(
        reverse("keyvault:integration_history", kwargs={"integration_id": new.integration_id})
    )
    assert "Confirmed 11 Mar 2026" in text(history)


def test_an_auditor_cannot_confirm_and_nothing_is_written(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    new = rotate(make_credential()[0], idp_updated=False)
    events = AuditEvent.objects.count()

    response = auditor_client.post(confirm_url(new), {"credential": str(new.pk)})

    assert response.status_code == 403
    new.refresh_from_db()
    assert new.idp_pending is True
    assert AuditEvent.objects.count() == events
    assert "Confirm IdP updated" not in text(auditor_client.get(detail_url(new)))
    assert "IdP not updated" in text(auditor_client.get(detail_url(new)))


def test_the_weekly_digest_lists_what_still_waits_for_the_idp(
    make_credential: MakeCredential, slack_channel: Channel
) -> None:
    waiting = rotate(make_credential(name="Waiting")[0], idp_updated=False)
    done = rotate(make_credential(name="Confirmed later")[0], idp_updated=False)
    credential_idp_confirm(actor=None, credential=done, now=ROTATED)

    content = digest_content(channel=slack_channel, now=ROTATED + timedelta(days=2))

    assert [item["name"] for item in content.idp_unconfirmed] == ["Waiting"]
    assert waiting.idp_pending


def test_the_migration_marks_current_keys_of_unconfirmed_rotations_pending(
    make_credential: MakeCredential,
) -> None:
    from django.apps import apps

    migration = importlib.import_module("keyvault.migrations.0010_credential_idp_pending")
    unconfirmed = rotate(make_credential()[0], idp_updated=False)
    confirmed = rotate(make_credential()[0], idp_updated=True)
    retired = rotate(make_credential()[0], idp_updated=False)
    rotate(retired, idp_updated=True, now=ROTATED + timedelta(hours=1))
    never_rotated, _ = make_credential()
    Credential.objects.update(idp_pending=False)  # as before the migration

    migration.pending_from_rotations(apps, None)

    pending = set(Credential.objects.filter(idp_pending=True))
    assert pending == {unconfirmed}
    assert not {confirmed, retired, never_rotated} & pending


def test_without_an_identity_provider_the_question_is_about_where_the_key_is_used(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(identity_provider=IdentityProvider.NONE)

    page = text(admin_client.get(rotate_url(credential)))

    assert "Is the new key in every place that uses it?" in page
    assert "No identity provider provisions with this key" in page
