""" "Test key" on the integration page and on the rotate form; check results on the pages.

The vendor is a real SCIM server on 127.0.0.1 (the ``scim`` fixture)."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from keyvault.vault.check_models import CheckStatus, CredentialCheck
from tests.factories import NOW, MakeCredential, new_token
from tests.keyvault.test_credential_check import scim_credential
from tests.keyvault.test_views import detail_url, text
from tests.scim_server import ScimServer


def check_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_check", kwargs={"integration_id": credential.integration_id}
    )


def replacement_url(credential: Credential) -> str:
    return reverse(
        "keyvault:replacement_check", kwargs={"integration_id": credential.integration_id}
    )


def rotate_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_rotate", kwargs={"integration_id": credential.integration_id}
    )


def test_test_key_checks_the_current_key_and_the_page_shows_the_result_and_history(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)

    response = admin_client.post(check_url(credential), follow=True)

    page = text(response)
    assert response.redirect_chain[-1][0] == detail_url(credential.integration)
    assert "Valid: the vendor accepts this key." in page
    check = CredentialCheck.objects.get()
    assert (check.status, check.http_status, check.checked_by.get_username()) == (
        "valid",
        200,
        "alice",
    )
    assert f"{check.latency_ms} ms" in page
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_CHECKED).count() == 1


def test_auditors_see_check_results_but_no_test_key_button(
    auditor_client: Client, admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)
    admin_client.post(check_url(credential))

    page = auditor_client.get(detail_url(credential.integration)).content.decode()
    admin_page = admin_client.get(detail_url(credential.integration)).content.decode()

    assert "Valid: the vendor accepts this key." in page
    assert check_url(credential) not in page and "Test key" not in page
    assert check_url(credential) in admin_page and "Test key" in admin_page
    assert auditor_client.post(check_url(credential)).status_code == 403
    assert CredentialCheck.objects.count() == 1


def test_a_key_rejected_by_the_vendor_is_red_on_the_dashboard_and_the_integration_page(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(name="Atlassian — acme")
    make_credential(name="Atlassian — beta")
    Credential.objects.filter(pk=credential.pk).update(
        check_status=CheckStatus.REJECTED, checked_at=NOW
    )

    dashboard = auditor_client.get(reverse("keyvault:dashboard")).content.decode()
    detail = auditor_client.get(detail_url(credential.integration)).content.decode()

    assert dashboard.count('class="row--red"') == 1
    assert dashboard.count("badge--check-rejected") == 1
    assert "badge--check-rejected" in detail
    assert "The vendor no longer accepts this key — regenerated or revoked?" in detail


def test_a_provider_without_a_safe_read_says_so_and_offers_no_test(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(provider="okta", scim_url="")

    detail = admin_client.get(detail_url(credential.integration)).content.decode()
    rotate = admin_client.get(rotate_url(credential)).content.decode()
    response = admin_client.post(check_url(credential), follow=True)

    assert "No live check for this provider." in detail
    assert check_url(credential) not in detail
    assert replacement_url(credential) not in rotate
    assert "No live check for this provider." in text(response)
    assert not CredentialCheck.objects.exists()


def test_the_rotate_form_offers_test_key_for_a_scim_provider(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)

    rotate = admin_client.get(rotate_url(credential)).content.decode()

    assert f'data-live-check="{replacement_url(credential)}"' in rotate
    assert "live-check.js" in rotate


def test_testing_a_pasted_replacement_answers_json_without_the_token_and_stores_nothing(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim, token=new_token())
    replacement = scim.token

    started = time.monotonic()
    response = admin_client.post(replacement_url(credential), {"token": f" {replacement}\n"})
    elapsed = time.monotonic() - started

    assert elapsed < 1
    answer = response.json()
    assert (answer["result"], answer["http_status"]) == ("valid", 200)
    assert answer["message"] == "Valid: the vendor accepts this key."
    assert replacement not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert not CredentialCheck.objects.exists()
    assert scim.requests[-1][2] == f"Bearer {replacement}"


def test_a_pasted_replacement_with_its_own_url_is_tested_there(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential, _ = make_credential(
        provider="generic_scim", scim_url="https://203.0.113.7/scim/v2", token=new_token()
    )

    response = admin_client.post(
        replacement_url(credential), {"token": scim.token, "scim_url": scim.base_url}
    )

    assert response.json()["result"] == "valid"


def test_a_pasted_replacement_the_vendor_refuses_is_rejected(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)

    answer = admin_client.post(replacement_url(credential), {"token": new_token()}).json()

    assert (answer["result"], answer["http_status"]) == ("rejected", 401)
    assert "regenerated or revoked?" in answer["message"]
    credential.refresh_from_db()
    assert credential.check_status == ""  # the current key was not what was tested


def test_a_malformed_paste_is_refused_by_field_and_nothing_is_sent_or_audited(
    admin_client: Client, make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)
    events = AuditEvent.objects.count()
    token = new_token()

    response = admin_client.post(
        replacement_url(credential),
        {"token": f"{token[:20]} {token[20:]}", "scim_url": "http://scim.example/v2"},
    )

    assert response.status_code == 400
    errors: dict[str, Any] = response.json()["errors"]
    assert set(errors) == {"token", "scim_url"}
    assert "space or line break" in errors["token"][0]
    assert token[:20] not in response.content.decode()
    assert scim.requests == []
    assert AuditEvent.objects.count() == events


def test_rotating_a_key_the_vendor_rejected_clears_the_red(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(name="Atlassian — acme")
    Credential.objects.filter(pk=credential.pk).update(
        check_status=CheckStatus.REJECTED, checked_at=NOW
    )
    credential.refresh_from_db()
    secret = rotation_secret_clean(
        credential=credential, scim_url="", token=new_token(), expires_at=None, now=NOW
    )
    credential_rotate(credential=credential, secret=secret, actor=None, now=NOW)

    dashboard = auditor_client.get(reverse("keyvault:dashboard")).content.decode()
    detail = auditor_client.get(detail_url(credential.integration)).content.decode()

    assert "row--red" not in dashboard and "badge--check-rejected" not in dashboard
    assert "badge--check-rejected" not in detail
    assert "Never checked yet." in detail
