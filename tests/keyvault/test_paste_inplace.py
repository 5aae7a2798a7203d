"""Paste forms sent by the page's script: refusals carry messages only, never a typed value;
without the script the typed URL comes back and the page asks for the token again."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyvault.models import Credential, CredentialState, Integration, Rotation
from keyvault.rotation import services as rotation_services
from keyvault.vault.forms import IntegrationCreateForm, describe_secret_fields, paste_again_note
from keyvault.vault.providers import ProviderKind, provider_for
from keyvault.web.inplace import HEADER, INPLACE
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token
from tests.keyvault.test_forms import paste_data

INPLACE_HEADERS = {"headers": {HEADER: INPLACE}}
CREATE_URL = "/integrations/new/"


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def rotate_url(credential: Credential) -> str:
    return reverse(
        "keyvault:credential_rotate", kwargs={"integration_id": credential.integration_id}
    )


def add_url(integration_id: Any) -> str:
    return reverse("keyvault:credential_add", kwargs={"integration_id": integration_id})


def test_a_refused_paste_answers_with_the_messages_and_none_of_the_typed_values(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    _, stored_token = make_credential(name="Existing")
    url = ATLASSIAN_URL.replace("0f6a1c2e", "99999999")

    response = admin_client.post(
        CREATE_URL,
        paste_data(name="Second", token=stored_token, scim_url=url),
        **INPLACE_HEADERS,
    )

    assert response.status_code == 422
    assert response["Content-Type"] == "application/json"
    body = response.content.decode()
    assert stored_token not in body and url not in body and "Second" not in body
    reply = json.loads(body)
    assert reply["saved"] is False
    assert "already stored" in " ".join(reply["errors"]["token"])
    assert not Integration.objects.filter(name="Second").exists()


def test_a_paste_saved_in_place_says_where_to_go_and_the_page_there_says_saved(
    admin_client: Client,
) -> None:
    token = new_token()

    response = admin_client.post(CREATE_URL, paste_data(token=token), **INPLACE_HEADERS)

    assert response.status_code == 200
    reply = response.json()
    integration = Integration.objects.get()
    assert reply == {
        "saved": True,
        "redirect": reverse(
            "keyvault:integration_detail", kwargs={"integration_id": integration.pk}
        ),
    }
    assert token not in response.content.decode()
    landing = admin_client.get(reply["redirect"]).content.decode()
    assert f"Saved: “{integration.name}” and its credential." in landing


def test_a_rotation_refused_in_place_leaves_everything_as_it_was(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    old, old_token = make_credential()

    response = admin_client.post(
        rotate_url(old),
        {"credential": str(old.pk), "token": old_token, "reason": "yearly"},
        **INPLACE_HEADERS,
    )

    assert response.status_code == 422
    assert old_token not in response.content.decode()
    assert "already stored" in " ".join(response.json()["errors"]["token"])
    old.refresh_from_db()
    assert old.state == CredentialState.CURRENT and not Rotation.objects.exists()


def test_a_rotation_saved_in_place_answers_with_the_integration_page(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    old, _ = make_credential()

    response = admin_client.post(
        rotate_url(old),
        {"credential": str(old.pk), "token": new_token(), "idp_updated": "yes"},
        **INPLACE_HEADERS,
    )

    assert response.status_code == 200 and response.json()["saved"] is True
    assert Rotation.objects.count() == 1


def test_an_added_credential_refused_in_place_names_the_field(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()
    rotation_services.credential_revoke(credential=old, reason="leaked", actor=admin_user, now=NOW)

    response = admin_client.post(
        add_url(old.integration_id),
        {"token": "two words", "scim_url": ATLASSIAN_URL},
        **INPLACE_HEADERS,
    )

    assert response.status_code == 422
    assert "space or line break" in " ".join(response.json()["errors"]["token"])
    assert "two words" not in response.content.decode()


def test_without_the_script_a_refused_rotation_keeps_the_typed_url_and_asks_for_the_key(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    old, old_token = make_credential()
    typed_url = ATLASSIAN_URL.replace("0f6a1c2e", "12345678")

    response = admin_client.post(
        rotate_url(old), {"credential": str(old.pk), "token": old_token, "scim_url": typed_url}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{typed_url}"' in html
    assert old_token not in html
    assert "For safety the API key was not kept: paste it again." in html


@pytest.mark.django_db
def test_a_provider_whose_url_is_secret_gets_neither_value_back() -> None:
    secret_url_provider = dataclasses.replace(
        provider_for(ProviderKind.GENERIC_SCIM), url_secret=True
    )
    form = IntegrationCreateForm(
        paste_data(provider="generic_scim", scim_url="https://scim.example.com/t/abc"), now=NOW
    )
    describe_secret_fields(form, secret_url_provider)

    assert "https://scim.example.com/t/abc" not in str(form["scim_url"])
    assert paste_again_note(secret_url_provider) == (
        "For safety the SCIM base URL and bearer token were not kept: paste them again."
    )


@pytest.mark.parametrize("page", ["create", "add", "rotate"])
def test_every_paste_page_says_to_keep_the_vendors_dialog_open_and_loads_its_script(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any, page: str
) -> None:
    credential, _ = make_credential()
    if page == "add":
        rotation_services.credential_revoke(
            credential=credential, reason="gone", actor=admin_user, now=NOW
        )
    url = {
        "create": CREATE_URL,
        "add": add_url(credential.integration_id),
        "rotate": rotate_url(credential),
    }[page]

    html = admin_client.get(url).content.decode()

    assert "Keep the vendor's dialog open until keyvault says “Saved”." in html
    assert '<script src="/static/keyvault/paste.js" defer></script>' in html
    assert "data-paste-form" in html and 'id="paste-rules"' in html
    assert "<script>" not in html  # the CSP allows no inline script
