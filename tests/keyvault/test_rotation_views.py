"""Rotate, revoke, add-after-revoke and history pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Rotation
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token

OTHER_URL = "https://api.atlassian.com/scim/directory/11111111-2222-4333-8444-555555555555"
WHEN = NOW + timedelta(days=358)  # 7 days before a 365-day Atlassian key expires


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(WHEN, tick=False):
        yield


def _rotate_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_rotate", kwargs={"integration_id": credential.integration_id}
    )


def test_reminder_links_reach_the_rotate_form_by_integration_id(
    make_credential: MakeCredential,
) -> None:
    credential, _ = make_credential()
    assert _rotate_url(credential) == f"/integrations/{credential.integration_id}/rotate/"


def test_rotate_form_never_puts_the_current_url_or_token_in_the_page(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    credential, token = make_credential()
    response = admin_client.get(_rotate_url(credential))
    html = response.content.decode()
    assert response.status_code == 200
    assert ATLASSIAN_URL not in html
    assert ATLASSIAN_URL.rsplit("/", 1)[1] not in html  # not even the directory id
    assert token not in html
    assert "Leave empty to keep the current URL" in html
    assert f'value="{credential.pk}"' in html
    assert "Is the new key in Okta?" in html


def test_admin_rotates_and_lands_on_the_integration_with_the_new_version_current(
    make_credential: MakeCredential, admin_client: Client, admin_user: Any
) -> None:
    old, _ = make_credential()
    token = new_token()
    response = admin_client.post(
        _rotate_url(old),
        {
            "credential": str(old.pk),
            "token": f"  {token}\n",
            "reason": "Yearly rotation",
            "idp_updated": "yes",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse(
        "keyvault:integration_detail", kwargs={"integration_id": old.integration_id}
    )
    assert "Rotated 7 days early" in response.content.decode()
    old.refresh_from_db()
    assert old.state == CredentialState.SUPERSEDED
    rotation = Rotation.objects.get()
    assert rotation.rotated_by == admin_user
    assert rotation.idp_updated is True
    assert rotation.reason == "Yearly rotation"
    assert rotation.lead_time_days == 7
    new = rotation.new_credential
    assert new.unseal("token_ciphertext") == token
    assert new.unseal("scim_url_ciphertext") == ATLASSIAN_URL  # blank field kept the URL
    assert token not in response.content.decode()


def test_rotate_with_a_new_url_stores_it(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    old, _ = make_credential()
    admin_client.post(
        _rotate_url(old),
        {
            "credential": str(old.pk),
            "token": new_token(),
            "scim_url": OTHER_URL,
            "idp_updated": "yes",
        },
    )
    assert Rotation.objects.get().new_credential.unseal("scim_url_ciphertext") == OTHER_URL


def test_bad_input_is_reported_on_the_fields_and_nothing_is_saved_nor_the_token_echoed(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    old, old_token = make_credential()
    bad_url = "http://api.atlassian.com/scim/directory/secret-looking-part"
    response = admin_client.post(
        _rotate_url(old),
        {"credential": str(old.pk), "token": old_token, "scim_url": bad_url},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This token is already stored" in html
    assert "https://" in html and "must start with https://" in html
    assert old_token not in html
    assert f'value="{bad_url}"' in html  # the typed URL comes back to be corrected
    assert "For safety the API key was not kept: paste it again." in html
    assert Credential.objects.count() == 1
    assert not Rotation.objects.exists()
    old.refresh_from_db()
    assert old.state == CredentialState.CURRENT


def test_a_stale_rotate_form_gets_a_clear_error(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    old, _ = make_credential()
    admin_client.post(
        _rotate_url(old), {"credential": str(old.pk), "token": new_token(), "idp_updated": "yes"}
    )
    # A second admin submits the form they opened before the first rotation.
    token = new_token()
    response = admin_client.post(
        _rotate_url(old), {"credential": str(old.pk), "token": token, "idp_updated": "yes"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "someone else changed it a moment ago" in html
    assert Rotation.objects.count() == 1
    assert not Credential.objects.filter(hint=token[-4:]).exists()


def test_revoke_needs_a_reason_then_marks_the_integration_revoked(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    credential, _ = make_credential()
    url = reverse(
        "keyvault:credential_revoke", kwargs={"integration_id": credential.integration_id}
    )
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"credential": str(credential.pk), "reason": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    credential.refresh_from_db()
    assert credential.state == CredentialState.CURRENT

    response = admin_client.post(
        url, {"credential": str(credential.pk), "reason": "Leaked in a ticket"}, follow=True
    )
    html = response.content.decode()
    assert "was revoked" in html
    assert "Add credential" in html
    assert "Revoked on" in html
    assert "Reason: Leaked in a ticket" in html
    credential.refresh_from_db()
    assert credential.state == CredentialState.REVOKED
    assert credential.revoke_reason == "Leaked in a ticket"
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVOKED).count() == 1


def test_after_a_revoke_the_admin_adds_a_new_current_credential(
    make_credential: MakeCredential, admin_client: Client
) -> None:
    credential, _ = make_credential()
    pk = credential.integration_id
    admin_client.post(
        reverse("keyvault:credential_revoke", kwargs={"integration_id": pk}),
        {"credential": str(credential.pk), "reason": "compromised"},
    )
    # The rotate link (e.g. from an old reminder) now leads to the add page.
    response = admin_client.get(
        reverse("keyvault:credential_rotate", kwargs={"integration_id": pk})
    )
    assert response["Location"] == reverse("keyvault:credential_add", kwargs={"integration_id": pk})
    token = new_token()
    response = admin_client.post(
        reverse("keyvault:credential_add", kwargs={"integration_id": pk}),
        {"scim_url": ATLASSIAN_URL, "token": token},
    )
    assert response.status_code == 302
    current = Credential.objects.get(integration_id=pk, state=CredentialState.CURRENT)
    assert current.unseal("token_ciphertext") == token
    # With a current credential again, the add page sends the admin to rotate instead.
    response = admin_client.get(reverse("keyvault:credential_add", kwargs={"integration_id": pk}))
    assert response["Location"] == reverse(
        "keyvault:credential_rotate", kwargs={"integration_id": pk}
    )


def test_history_lists_every_version_and_each_rotation(
    make_credential: MakeCredential, admin_client: Client, auditor_client: Client
) -> None:
    old, _ = make_credential(expires_at=NOW + timedelta(days=355))  # 3 days before WHEN
    admin_client.post(
        _rotate_url(old),
        {
            "credential": str(old.pk),
            "token": new_token(),
            "reason": "late!",
            "idp_updated": "not_yet",
        },
    )
    new = Credential.objects.get(state=CredentialState.CURRENT)
    url = reverse("keyvault:integration_history", kwargs={"integration_id": old.integration_id})
    html = auditor_client.get(url).content.decode()
    for version in (old, new):
        assert f"····{version.hint}" in html
        assert version.fingerprint[:16] in html
    assert "Superseded" in html and "Current" in html
    assert "alice" in html  # who added / who rotated
    assert "3 days late" in html
    assert "late!" in html
    assert "IdP not updated" in html


def test_integration_page_offers_rotate_and_revoke_to_admins_only(
    make_credential: MakeCredential, admin_client: Client, auditor_client: Client
) -> None:
    credential, _ = make_credential()
    url = reverse(
        "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
    )
    rotate = _rotate_url(credential)
    revoke = reverse(
        "keyvault:credential_revoke", kwargs={"integration_id": credential.integration_id}
    )
    history = reverse(
        "keyvault:integration_history", kwargs={"integration_id": credential.integration_id}
    )
    admin_html = admin_client.get(url).content.decode()
    auditor_html = auditor_client.get(url).content.decode()
    assert rotate in admin_html and revoke in admin_html and history in admin_html
    assert rotate not in auditor_html and revoke not in auditor_html
    assert history in auditor_html
