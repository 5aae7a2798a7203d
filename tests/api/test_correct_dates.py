"""POST /api/v1/credentials/{id}/correct-dates/: the page's service, audited like the page; and
a legacy key of unknown expiry created through the API."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_revoke
from tests.api.conftest import MakeToken, bearer
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token


def _url(credential: Credential) -> str:
    return reverse("api:credential_correct_dates", kwargs={"credential_id": credential.pk})


def test_correcting_dates_answers_the_credential_and_is_audited_like_the_page(
    api: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()

    response = api.post(
        _url(credential),
        {"expires_at": "2027-05-01T00:00:00Z", "reason": "vendor date"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["expires_at"] == "2027-05-01T00:00:00Z"
    assert response.json()["issued_at"] == NOW.isoformat().replace("+00:00", "Z")
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_DATES_CORRECTED)
    assert event.details["reason"] == "vendor date"
    assert AuditEvent.objects.filter(action=AuditAction.API_REQUEST).count() == 1


def test_an_expiry_before_the_issue_is_a_problem_on_expires_at_and_nothing_changes(
    api: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()

    response = api.post(
        _url(credential),
        {"expires_at": "2026-01-01T00:00:00Z", "reason": "typo"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "expires_at" in response.json()["errors"]
    assert not AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_DATES_CORRECTED).exists()


def test_a_reason_is_required(api: Client, make_credential: MakeCredential) -> None:
    credential, _ = make_credential()
    response = api.post(
        _url(credential), {"expires_at": "2027-05-01T00:00:00Z"}, content_type="application/json"
    )
    assert response.status_code == 400 and "reason" in response.json()["errors"]


def test_a_retired_credential_is_a_conflict(
    api: Client, make_credential: MakeCredential, admin_user: object
) -> None:
    credential, _ = make_credential()
    credential_revoke(credential=credential, reason="gone", actor=admin_user, now=NOW)
    response = api.post(
        _url(credential),
        {"expires_at": "2027-05-01T00:00:00Z", "reason": "typo"},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_a_read_token_cannot_correct_dates(
    make_token: MakeToken, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    _, raw = make_token(scopes=["read"])
    response = bearer(raw).post(
        _url(credential),
        {"expires_at": "2027-05-01T00:00:00Z", "reason": "typo"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_the_api_creates_a_legacy_key_with_its_worst_case_date(api: Client) -> None:
    response = api.post(
        reverse("api:integrations"),
        {
            "name": "Atlassian — API legacy",
            "provider": "atlassian",
            "issued_at": "2024-06-01T00:00:00Z",
            "credential": {"scim_url": ATLASSIAN_URL, "token": new_token(), "expiry_unknown": True},
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    current = response.json()["current"]
    assert current["expires_at"] == "2027-05-01T00:00:00Z"
    assert current["expiry_confirmed"] is False
