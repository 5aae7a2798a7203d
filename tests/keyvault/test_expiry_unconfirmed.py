"""Keys saved with "expiry unknown — legacy key": the provider's worst-case date, shown
unconfirmed with a "Confirm the date" prompt, reminded weekly until someone confirms it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from alerts.models import Notice, NoticeKind, ReminderStatus
from alerts.notices import notice_deliver
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.vault import credentials
from keyvault.vault.lifecycle import credential_dates_correct, integration_archive
from keyvault.vault.unconfirmed import credential_expiry_confirm, expiry_confirm_reminders_raise
from tests.alerts.outbox_helpers import no_channels, slack_channel
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token
from tests.stubs import SlackStub

__all__ = ["no_channels", "slack_channel"]  # fixtures used by name

WORST_CASE = datetime(2027, 5, 1, tzinfo=UTC)  # Atlassian's, local midnight (TIME_ZONE UTC)
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # ISO week 2026-W10
LEGACY_ISSUE = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def legacy(make_credential: MakeCredential) -> Credential:
    """An Atlassian key made in 2024, saved with "expiry unknown"."""
    credential, _ = make_credential(
        name="Atlassian — legacy", issued_at=LEGACY_ISSUE, expiry_unknown=True
    )
    return credential


def _url(name: str, credential: Credential) -> str:
    return reverse(f"keyvault:{name}", kwargs={"integration_id": credential.integration_id})


def test_an_unknown_expiry_is_the_providers_worst_case_and_not_confirmed(
    legacy: Credential,
) -> None:
    legacy.refresh_from_db()
    assert (legacy.expires_at, legacy.expiry_confirmed) == (WORST_CASE, False)
    created = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_CREATED)
    assert created.details["expiry_confirmed"] is False


def test_a_provider_without_a_worst_case_or_a_date_given_too_is_refused(db: Any) -> None:
    with pytest.raises(ValidationError) as no_worst_case:
        credentials.secret_input_clean(
            provider="okta",
            scim_url="",
            token=new_token(),
            issued_at=NOW,
            expires_at=None,
            expiry_unknown=True,
        )
    assert set(no_worst_case.value.error_dict) == {"expiry_unknown"}
    with pytest.raises(ValidationError) as both:
        credentials.secret_input_clean(
            provider="atlassian",
            scim_url=ATLASSIAN_URL,
            token=new_token(),
            issued_at=NOW,
            expires_at=NOW + timedelta(days=30),
            expiry_unknown=True,
        )
    assert "expires_at" in both.value.error_dict


def test_the_paste_form_saves_a_legacy_key_and_the_page_shows_the_worst_case_unconfirmed(
    admin_client: Client, db: Any
) -> None:
    response = admin_client.post(
        reverse("keyvault:integration_create"),
        {
            "name": "Atlassian — old tenant",
            "provider": "atlassian",
            "identity_provider": "okta",
            "scim_url": ATLASSIAN_URL,
            "token": new_token(),
            "issued_on": "2024-06-01",
            "expiry_unknown": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    credential = Credential.objects.get(integration__name="Atlassian — old tenant")
    assert (credential.expires_at, credential.expiry_confirmed) == (WORST_CASE, False)
    page = admin_client.get(response["Location"]).content.decode()
    assert "1 May 2027" in page and "Worst case, unconfirmed" in page
    assert "Confirm the date" in page and _url("credential_expiry_confirm", credential) in page


def test_confirming_is_audited_once_and_stops_the_prompt(
    legacy: Credential, admin_client: Client, admin_user: Any
) -> None:
    response = admin_client.post(
        _url("credential_expiry_confirm", legacy), {"credential": str(legacy.pk)}
    )

    assert response.status_code == 302
    legacy.refresh_from_db()
    assert legacy.expiry_confirmed
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_EXPIRY_CONFIRMED)
    assert event_sentence(event) == (
        f"alice confirmed the expiry of the Atlassian — legacy key ····{legacy.hint}: 1 May 2027"
    )
    assert not credential_expiry_confirm(actor=admin_user, credential=legacy, now=NOW)
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_EXPIRY_CONFIRMED).count() == 1
    page = admin_client.get(_url("integration_detail", legacy)).content.decode()
    assert "Worst case, unconfirmed" not in page and "Confirm the date" not in page


def test_correcting_the_dates_confirms_the_expiry_even_when_they_stay_the_same(
    legacy: Credential, admin_user: Any
) -> None:
    result = credential_dates_correct(
        actor=admin_user,
        credential=legacy,
        issued_at=legacy.issued_at,
        expires_at=legacy.expires_at,
        reason="admin.atlassian.com says 1 May 2027",
        now=NOW,
    )

    assert result.changed and result.credential.expiry_confirmed
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_DATES_CORRECTED)
    assert event.details["expiry_confirmed"] is True


def test_the_channels_are_asked_to_confirm_once_a_week_until_someone_does(
    legacy: Credential, slack_channel: Any, slack: SlackStub, admin_user: Any
) -> None:
    assert expiry_confirm_reminders_raise(now=MONDAY_10 - timedelta(hours=2)) == 0  # 08:00

    assert expiry_confirm_reminders_raise(now=MONDAY_10) == 1
    assert expiry_confirm_reminders_raise(now=MONDAY_10 + timedelta(days=3)) == 0  # same week
    for notice in Notice.objects.filter(status=ReminderStatus.PENDING):
        notice_deliver(notice_id=notice.pk, now=MONDAY_10)
    assert len(slack.requests) == 1
    assert "expiry date not confirmed" in slack.requests[0].text
    assert "1 May 2027" in slack.requests[0].text

    next_week = MONDAY_10 + timedelta(days=7)
    assert expiry_confirm_reminders_raise(now=next_week) == 1
    assert Notice.objects.get(key="2026-W11").kind == NoticeKind.EXPIRY_UNCONFIRMED

    credential_expiry_confirm(actor=admin_user, credential=legacy, now=next_week)
    assert Notice.objects.get(key="2026-W11").status == ReminderStatus.CANCELLED
    assert expiry_confirm_reminders_raise(now=next_week + timedelta(days=7)) == 0


def test_an_archived_legacy_key_is_not_asked_about(
    legacy: Credential, slack_channel: Any, admin_user: Any
) -> None:
    integration_archive(integration=legacy.integration, actor=admin_user, now=NOW)
    assert expiry_confirm_reminders_raise(now=MONDAY_10) == 0
