"""The paste form: every bad input gets a message on its field and leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential, Integration
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token

CREATE_URL = "/integrations/new/"


def paste_data(**overrides: str) -> dict[str, str]:
    """A valid POST for the new-integration page (issued today at ``NOW``)."""
    data = {
        "name": "Atlassian Cloud — acme (Okta SCIM)",
        "provider": "atlassian",
        "identity_provider": "okta",
        "owner": "IT platform team",
        "owner_email": "it-platform@example.com",
        "notes": "Configured in Okta > Applications > Atlassian Cloud.",
        "scim_url": ATLASSIAN_URL,
        "token": new_token(),
        "issued_on": NOW.date().isoformat(),
        "expires_on": "",
    }
    data.update(overrides)
    return data


def row_counts() -> tuple[int, int, int]:
    return Integration.objects.count(), Credential.objects.count(), AuditEvent.objects.count()


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"scim_url": ATLASSIAN_URL.replace("https://", "http://")},
            "scim_url",
            "must start with https://",
        ),
        (
            {"scim_url": "https://api.atlassian.com/scim/directory/not-a-uuid"},
            "scim_url",
            "does not look like an Atlassian URL",
        ),
        (
            {"scim_url": "https://example.com/scim/v2"},
            "scim_url",
            "expected https://api.atlassian.com/scim/directory/",
        ),
        ({"scim_url": ""}, "scim_url", "Atlassian needs the directory base URL"),
        ({"token": ""}, "token", "it is empty"),
        ({"token": "   \n"}, "token", "it is empty"),
        ({"token": "ATATT3x abc"}, "token", "space or line break inside it"),
        ({"token": "ATATT3x\nabc"}, "token", "space or line break inside it"),
        ({"token": "ATATT3x\x07abc"}, "token", "control or invisible characters"),
        ({"token": "ATATT3x\u200babc"}, "token", "control or invisible characters"),
        ({"token": "A" * 4097}, "token", "longer than 4096 bytes"),
        ({"expires_on": "2026-02-28"}, "expires_on", "must be after the issue date"),
        ({"expires_on": NOW.date().isoformat()}, "expires_on", "must be after the issue date"),
        ({"expires_on": "not a date"}, "expires_on", "Enter a valid date"),
        ({"issued_on": "2026-03-02"}, "issued_on", "cannot be in the future"),
        ({"issued_on": ""}, "issued_on", "This field is required"),
        ({"name": ""}, "name", "This field is required"),
        ({"owner_email": "not-an-address"}, "owner_email", "valid email"),
        ({"provider": "nope"}, "provider", "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_field_message_and_saves_nothing(
    admin_client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    before = row_counts()
    response = admin_client.post(CREATE_URL, paste_data(**overrides))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert row_counts() == before


def test_every_problem_is_reported_at_once(admin_client: Client) -> None:
    response = admin_client.post(
        CREATE_URL,
        paste_data(scim_url="http://x", token="a b", expires_on="2026-01-01", owner_email="x"),
    )

    assert set(response.context["form"].errors) == {
        "scim_url",
        "token",
        "expires_on",
        "owner_email",
    }


def test_a_token_already_stored_is_refused_naming_the_integration_holding_it(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    _, token = make_credential(name="Slack — acme (Okta SCIM)")
    before = row_counts()

    response = admin_client.post(CREATE_URL, paste_data(token=token))

    [error] = response.context["form"].errors["token"]
    assert "already stored" in error
    assert "Slack — acme (Okta SCIM)" in error
    assert row_counts() == before


def test_a_name_already_used_is_refused(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Taken")
    before = row_counts()

    response = admin_client.post(CREATE_URL, paste_data(name="Taken"))

    assert response.context["form"].errors["name"] == [
        "An integration with this name already exists."
    ]
    assert row_counts() == before


def test_surrounding_whitespace_and_newlines_are_trimmed_before_saving(
    admin_client: Client,
) -> None:
    token = new_token()

    response = admin_client.post(
        CREATE_URL, paste_data(token=f"  {token}\r\n", scim_url=f" {ATLASSIAN_URL}\n")
    )

    assert response.status_code == 302
    credential = Credential.objects.get()
    assert credential.unseal("token_ciphertext") == token
    assert credential.unseal("scim_url_ciphertext") == ATLASSIAN_URL
    assert credential.hint == token[-4:]


def test_a_valid_paste_creates_the_integration_its_credential_and_two_audit_events(
    admin_client: Client, admin_user: Any
) -> None:
    first_seq = AuditEvent.objects.count() + 1

    response = admin_client.post(CREATE_URL, paste_data(owner="Dana"))

    integration = Integration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "keyvault:integration_detail", kwargs={"integration_id": integration.pk}
    )
    assert (integration.owner, integration.provider, integration.created_by) == (
        "Dana",
        "atlassian",
        admin_user,
    )
    events = AuditEvent.objects.filter(seq__gte=first_seq).order_by("seq")
    assert list(events.values_list("action", flat=True)) == [
        AuditAction.INTEGRATION_CREATED,
        AuditAction.CREDENTIAL_CREATED,
    ]


def test_pasted_today_counts_from_now_and_gets_the_provider_lifetime(
    admin_client: Client,
) -> None:
    admin_client.post(CREATE_URL, paste_data())

    credential = Credential.objects.get()
    assert credential.issued_at == NOW
    assert credential.expires_at == NOW + timedelta(days=365)
    page = admin_client.get("/").content.decode()
    assert "expires in 365 days" in page


def test_entra_id_defaults_to_its_shorter_lifetime(admin_client: Client) -> None:
    admin_client.post(CREATE_URL, paste_data(provider="entra_id", scim_url=""))

    assert Credential.objects.get().expires_at == NOW + timedelta(days=180)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_dates_other_than_today_are_local_midnight(admin_client: Client) -> None:
    response = admin_client.post(
        CREATE_URL, paste_data(issued_on="2026-02-10", expires_on="2026-08-01")
    )

    assert response.status_code == 302
    credential = Credential.objects.get()
    # Berlin is UTC+1 in February and UTC+2 in August.
    assert credential.issued_at == datetime(2026, 2, 9, 23, 0, tzinfo=UTC)
    assert credential.expires_at == datetime(2026, 7, 31, 22, 0, tzinfo=UTC)


def test_a_form_shown_again_keeps_the_typed_url_and_asks_for_the_token_again(
    admin_client: Client,
) -> None:
    token = new_token()
    url = ATLASSIAN_URL.replace("0f6a1c2e", "1a2b3c4d")

    response = admin_client.post(CREATE_URL, paste_data(token=token, scim_url=url, name=""))

    page = response.content.decode()
    assert response.context["form"].errors["name"]
    assert token not in page
    assert f'value="{url}"' in page  # the URL is not a secret for Atlassian: no retyping
    assert "For safety the API key was not kept: paste it again." in page


def test_the_token_input_is_a_password_field_without_autocomplete(admin_client: Client) -> None:
    page = admin_client.get(CREATE_URL).content.decode()

    assert 'type="password" name="token" autocomplete="off"' in page
    assert 'name="scim_url" autocomplete="off"' in page
    assert f'name="issued_on" value="{NOW.date().isoformat()}"' in page
