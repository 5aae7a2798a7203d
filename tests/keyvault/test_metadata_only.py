"""Metadata-only versions (imported without their token): tracked and reminded like the rest;
every path that would decrypt, reveal, rotate, wipe or re-encrypt one knows there is no secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from alerts.models import Reminder
from alerts.scan import reminders_scan
from keyvault.crypto.reencrypt import secrets_reencrypt
from keyvault.feeds.calendar import calendar_feed_create
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState
from keyvault.rotation.services import (
    credential_revoke,
    credential_rotate,
    credentials_destroy_expired_grace,
    rotation_secret_clean,
)
from keyvault.vault.check_models import CredentialCheck
from keyvault.vault.check_selectors import credentials_to_check
from keyvault.vault.checks import NOT_STORED, LiveCheckUnavailable, credential_check
from keyvault.vault.services import RevealError, credential_reveal
from tests.factories import ATLASSIAN_URL, NOW, email_channel_make, metadata_only_make, new_token


@pytest.fixture
def imported(admin_user: Any) -> Credential:
    return metadata_only_make(
        actor=admin_user,
        name="Imported — acme",
        expires_on="2026-03-06",
        owner_email="dana@example.com",
    )


def test_a_metadata_only_version_has_no_secret_fingerprint_or_hint(imported: Credential) -> None:
    assert imported.state == CredentialState.CURRENT
    assert not imported.secret_stored
    assert (imported.fingerprint, imported.hint) == (None, "")
    assert imported.token_ciphertext == b"" and imported.scim_url_ciphertext == b""
    assert imported.expires_at == datetime(2026, 3, 6, tzinfo=UTC)


def test_reveal_says_no_secret_is_stored_here(imported: Credential, admin_user: Any) -> None:
    with pytest.raises(RevealError, match="No secret is stored here"):
        credential_reveal(credential=imported, actor=admin_user, now=NOW)

    assert not AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).exists()


def test_the_pages_say_secret_not_stored_here_and_offer_no_reveal(
    imported: Credential, admin_client: Client
) -> None:
    detail = admin_client.get(
        reverse("keyvault:integration_detail", kwargs={"integration_id": imported.integration_id})
    ).content.decode()
    assert "secret not stored here" in detail
    assert (
        reverse("keyvault:credential_reveal", kwargs={"credential_id": imported.pk}) not in detail
    )

    reveal = admin_client.get(
        reverse("keyvault:credential_reveal", kwargs={"credential_id": imported.pk})
    ).content.decode()
    assert "There is no secret to reveal" in reveal and 'name="password"' not in reveal


def test_rotating_a_metadata_only_version_stores_the_real_key(
    imported: Credential, admin_user: Any
) -> None:
    token = new_token()
    with pytest.raises(Exception, match=r"needs the .*base URL"):
        rotation_secret_clean(
            credential=imported, scim_url="", token=token, expires_at=None, now=NOW
        )
    secret = rotation_secret_clean(
        credential=imported, scim_url=ATLASSIAN_URL, token=token, expires_at=None, now=NOW
    )

    rotation = credential_rotate(credential=imported, secret=secret, actor=admin_user, now=NOW)

    new = rotation.new_credential
    assert new.secret_stored and new.hint == token[-4:]
    assert credential_reveal(credential=new, actor=admin_user, now=NOW).token == token
    imported.refresh_from_db()
    assert imported.state == CredentialState.SUPERSEDED


def test_the_rotate_page_takes_the_real_key(imported: Credential, admin_client: Client) -> None:
    url = reverse("keyvault:credential_rotate", kwargs={"integration_id": imported.integration_id})
    assert "imported as metadata only" in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "credential": str(imported.pk),
            "token": new_token(),
            "scim_url": ATLASSIAN_URL,
            "idp_updated": "yes",
        },
    )

    assert response.status_code == 302
    current = Credential.objects.get(integration=imported.integration, state="current")
    assert current.secret_stored


def test_revoking_one_then_the_grace_period_wipes_nothing(
    imported: Credential, admin_user: Any
) -> None:
    credential_revoke(
        credential=imported, reason="moved to the vendor's vault", actor=admin_user, now=NOW
    )

    destroyed = credentials_destroy_expired_grace(now=NOW + timedelta(days=30))

    assert destroyed == 0
    assert not AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_DESTROYED).exists()
    imported.refresh_from_db()
    assert imported.state == CredentialState.REVOKED and imported.destroyed_at is None


def test_re_encryption_passes_over_it(imported: Credential) -> None:
    report = secrets_reencrypt(now=NOW)

    assert report.failed == [] and report.complete


def test_it_is_reminded_like_the_rest(imported: Credential) -> None:
    channel = email_channel_make(name="Ops", recipients="ops@example.com")

    reminders_scan(now=NOW, enqueue=False)

    assert Reminder.objects.filter(credential=imported, channel=channel, threshold=7).exists()


def test_it_is_in_the_calendar_feed(imported: Credential, admin_user: Any) -> None:
    token = calendar_feed_create(user=admin_user, now=NOW)

    body = Client().get(reverse("keyvault:calendar_feed", kwargs={"token": token})).content
    (event,) = Calendar.from_ical(body).walk("VEVENT")

    assert "metadata only" in str(event["description"])


def test_the_live_check_says_the_secret_is_not_stored_and_the_daily_check_passes_over_it(
    imported: Credential, admin_user: Any, admin_client: Client
) -> None:
    with pytest.raises(LiveCheckUnavailable) as refused:
        credential_check(credential=imported, actor=admin_user, now=NOW)
    assert str(refused.value) == NOT_STORED
    assert imported.pk not in set(credentials_to_check().values_list("pk", flat=True))
    assert not CredentialCheck.objects.exists()

    detail = admin_client.get(
        reverse("keyvault:integration_detail", kwargs={"integration_id": imported.integration_id})
    ).content.decode()
    check_url = reverse("keyvault:credential_check", args=[imported.integration_id])
    assert "so keyvault cannot check it with the vendor" in detail
    assert f'action="{check_url}"' not in detail
