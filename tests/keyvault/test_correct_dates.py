"""Correcting a current credential's dates: validated, audited with old and new dates, nothing
written when unchanged, and the reminders follow the new expiry date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from alerts.models import ReminderStatus
from alerts.scan import reminders_scan, reminders_scan_request
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_revoke
from keyvault.vault.lifecycle import credential_dates_correct
from tests.alerts.outbox_helpers import DueFactory, due_credential, email_channel, no_channels, rows
from tests.factories import NOW, MakeCredential

__all__ = ["due_credential", "email_channel", "no_channels"]  # fixtures used by name

MAY_2027 = datetime(2027, 5, 1, tzinfo=UTC)


def _correct(credential: Credential, actor: Any, **changes: Any) -> Any:
    """``credential_dates_correct`` at ``NOW``; the dates not in ``changes`` stay as they are."""
    args = {
        "issued_at": credential.issued_at,
        "expires_at": credential.expires_at,
        "reason": "typo",
        **changes,
    }
    return credential_dates_correct(actor=actor, credential=credential, now=NOW, **args)


def _corrections() -> int:
    return AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_DATES_CORRECTED).count()


def test_correcting_the_expiry_saves_it_and_audits_old_and_new_dates(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential(name="Atlassian — acme")
    old_expiry = credential.expires_at

    result = _correct(
        credential, admin_user, expires_at=MAY_2027, reason="the vendor's page says 1 May 2027"
    )

    credential.refresh_from_db()
    assert result.changed and credential.expires_at == MAY_2027
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_DATES_CORRECTED)
    assert event.details["old_expires_at"] == old_expiry.isoformat()
    assert event.details["expires_at"] == MAY_2027.isoformat()
    assert event.details["reason"] == "the vendor's page says 1 May 2027"
    assert event_sentence(event) == (
        f"alice corrected the dates of the Atlassian — acme key ····{credential.hint}: "
        "expiry 1 Mar 2027 → 1 May 2027; reason “the vendor's page says 1 May 2027”"
    )


def test_the_same_dates_again_write_nothing(
    make_credential: MakeCredential, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    credential, _ = make_credential()
    with django_capture_on_commit_callbacks() as callbacks:
        result = _correct(credential, admin_user, reason="")

    assert not result.changed
    assert _corrections() == 0
    assert callbacks == []


@pytest.mark.parametrize(
    ("issued", "expires", "reason", "fields"),
    [
        (NOW - timedelta(days=1), NOW - timedelta(days=2), "typo", {"expires_at"}),
        (NOW + timedelta(days=1), MAY_2027, "typo", {"issued_at"}),
        (NOW - timedelta(days=1), MAY_2027, "  ", {"reason"}),
        (NOW + timedelta(days=3), NOW, "", {"issued_at", "expires_at", "reason"}),
    ],
    ids=["expiry-before-issue", "issued-in-the-future", "no-reason", "everything-at-once"],
)
def test_bad_dates_or_no_reason_are_refused_with_clear_errors_and_nothing_saved(
    make_credential: MakeCredential,
    admin_user: Any,
    issued: datetime,
    expires: datetime,
    reason: str,
    fields: set[str],
) -> None:
    credential, _ = make_credential()
    before = (credential.issued_at, credential.expires_at)

    with pytest.raises(ValidationError) as refused:
        _correct(credential, admin_user, issued_at=issued, expires_at=expires, reason=reason)

    assert set(refused.value.error_dict) == fields
    credential.refresh_from_db()
    assert (credential.issued_at, credential.expires_at) == before
    assert _corrections() == 0


def test_a_reason_holding_the_token_is_refused(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, token = make_credential()
    with pytest.raises(ValidationError) as refused:
        _correct(credential, admin_user, expires_at=MAY_2027, reason=f"key {token}")
    assert "reason" in refused.value.error_dict
    assert not AuditEvent.objects.filter(details__icontains=token[:20]).exists()


def test_a_revoked_credential_cannot_be_corrected(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential()
    credential_revoke(credential=credential, reason="leaked", actor=admin_user, now=NOW)
    with pytest.raises(ValidationError) as refused:
        _correct(credential, admin_user, expires_at=MAY_2027, reason="typo")
    assert refused.value.error_dict["__all__"][0].code == "not_current"


def test_a_later_expiry_makes_the_reminders_of_the_new_date_owed_again(
    due_credential: DueFactory, email_channel: Any, admin_user: Any
) -> None:
    credential, _ = due_credential(days=5)
    reminders_scan(now=NOW, enqueue=False)
    assert rows(credential) == {30: "skipped", 14: "skipped", 7: "pending"}

    _correct(
        credential,
        admin_user,
        expires_at=NOW + timedelta(days=100),
        reason="the vendor extended it",
    )

    assert rows(credential) == {}
    assert reminders_scan(now=NOW, enqueue=False).created == 0
    reminders_scan(now=NOW + timedelta(days=70), enqueue=False)
    assert rows(credential) == {30: ReminderStatus.PENDING}


def test_an_earlier_expiry_is_reminded_at_once(
    due_credential: DueFactory,
    email_channel: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    credential, _ = due_credential(days=200)
    assert reminders_scan(now=NOW, enqueue=False).created == 0

    with django_capture_on_commit_callbacks() as callbacks:
        _correct(credential, admin_user, expires_at=NOW + timedelta(days=2), reason="the real date")

    assert reminders_scan_request in callbacks
    reminders_scan(now=NOW, enqueue=False)
    assert rows(credential)[3] == ReminderStatus.PENDING


def _page(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_dates_correct", kwargs={"integration_id": credential.integration_id}
    )


def test_the_page_corrects_the_dates_and_goes_back_to_the_integration(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    detail = reverse(
        "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
    )
    assert _page(credential) in admin_client.get(detail).content.decode()

    response = admin_client.post(
        _page(credential),
        {
            "credential": str(credential.pk),
            "issued_on": "2026-03-01",
            "expires_on": "2027-05-01",
            "reason": "vendor date",
        },
    )

    assert response.status_code == 302 and response["Location"] == detail
    credential.refresh_from_db()
    assert credential.expires_at == MAY_2027
    assert credential.issued_at == NOW  # the issue day left as it was keeps its moment


def test_the_page_shows_the_errors_and_saves_nothing(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    response = admin_client.post(
        _page(credential),
        {
            "credential": str(credential.pk),
            "issued_on": "2026-03-01",
            "expires_on": "2026-02-01",
            "reason": "typo",
        },
    )

    assert response.status_code == 200
    assert "The expiry date must be after the issue date." in response.content.decode()
    assert _corrections() == 0
