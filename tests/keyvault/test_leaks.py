"""Secrets in free text: the pure finder, and the reasons, notes and names it guards."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from keyvault.models import AuditEvent, Credential, Integration
from keyvault.rotation.services import credential_revoke, credential_rotate, rotation_secret_clean
from keyvault.vault.leaks import LOOKS_LIKE_KEY, MIN_FRAGMENT, contains_secret, redact
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token

SECRET = "s3cr3t-" + "A1b2C3d4E5f6G7h8"


@pytest.mark.parametrize(
    "text",
    [
        SECRET,
        f"before {SECRET} after",
        SECRET[:MIN_FRAGMENT],
        SECRET[-MIN_FRAGMENT:],
        f"x{SECRET[3 : 3 + MIN_FRAGMENT]}y",
        quote(f"/{SECRET}/", safe=""),
    ],
)
def test_a_secret_or_a_long_run_of_it_is_found(text: str) -> None:
    assert contains_secret(text, [SECRET])


@pytest.mark.parametrize("text", ["", "yearly rotation", SECRET[: MIN_FRAGMENT - 1], "s3cr3t"])
def test_text_without_a_long_run_of_a_secret_is_left_alone(text: str) -> None:
    assert not contains_secret(text, [SECRET])
    assert redact(text, [SECRET]) == text


def test_redaction_replaces_each_run_once_and_keeps_the_rest() -> None:
    text = f"404 for /hooks/{SECRET} and again {SECRET[:14]}; done"

    assert redact(text, [SECRET]) == "404 for /hooks/[redacted] and again [redacted]; done"


def test_a_short_secret_counts_only_whole() -> None:
    assert redact("key=abc123 here", ["abc123"]) == "key=[redacted] here"
    assert not contains_secret("abc12", ["abc123"])


def test_empty_secrets_are_ignored() -> None:
    assert redact("anything", ["", ""]) == "anything"


def _replacement(old: Credential, token: str) -> Any:
    return rotation_secret_clean(
        credential=old, scim_url=ATLASSIAN_URL, token=token, expires_at=None, now=NOW
    )


@pytest.mark.parametrize("which", ["new", "old"])
def test_a_rotation_reason_holding_part_of_a_token_is_refused(
    make_credential: MakeCredential, admin_user: Any, which: str
) -> None:
    old, old_token = make_credential()
    token = new_token()
    part = (token if which == "new" else old_token)[5 : 5 + MIN_FRAGMENT]
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as exc:
        credential_rotate(
            credential=old,
            secret=_replacement(old, token),
            actor=admin_user,
            now=NOW,
            reason=f"pasted {part} by mistake",
        )

    assert exc.value.message_dict["reason"] == [LOOKS_LIKE_KEY]
    assert Credential.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_revoke_reason_holding_part_of_the_token_is_refused(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, token = make_credential()

    with pytest.raises(ValidationError) as exc:
        credential_revoke(
            credential=credential, reason=f"leaked: {token[-15:]}", actor=admin_user, now=NOW
        )

    assert exc.value.message_dict["reason"] == [LOOKS_LIKE_KEY]
    credential.refresh_from_db()
    assert credential.state == "current"


def test_the_paste_page_refuses_the_token_in_the_notes_and_saves_nothing(
    admin_client: Client,
) -> None:
    token = new_token()
    before = Integration.objects.count(), Credential.objects.count(), AuditEvent.objects.count()

    response = admin_client.post(
        reverse("keyvault:integration_create"),
        {
            "name": "Atlassian — acme",
            "provider": "atlassian",
            "identity_provider": "okta",
            "notes": f"token is {token[:20]}",
            "scim_url": ATLASSIAN_URL,
            "token": token,
            "issued_on": "2026-03-01",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["notes"] == [LOOKS_LIKE_KEY]
    after = Integration.objects.count(), Credential.objects.count(), AuditEvent.objects.count()
    assert after == before
    assert token[:20] not in response.content.decode()


@pytest.mark.parametrize("field", ["name", "owner", "notes"])
def test_editing_an_integration_refuses_its_own_token_in_free_text(
    admin_client: Client, make_credential: MakeCredential, field: str
) -> None:
    credential, token = make_credential(name="Okta → Atlassian")
    integration = credential.integration
    data = {
        "name": integration.name,
        "provider": integration.provider,
        "identity_provider": integration.identity_provider,
        "owner": "",
        "owner_email": "",
        "notes": "",
        "reminder_thresholds": "",
        field: f"see {token[10:30]}",
    }
    events = AuditEvent.objects.count()

    response = admin_client.post(
        reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk}), data
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [LOOKS_LIKE_KEY]
    integration.refresh_from_db()
    assert integration.name == "Okta → Atlassian" and integration.notes == ""
    assert AuditEvent.objects.count() == events


def test_the_revoke_page_does_not_echo_a_refused_reason(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()
    url = reverse(
        "keyvault:credential_revoke", kwargs={"integration_id": credential.integration_id}
    )

    response = admin_client.post(
        url, {"credential": str(credential.pk), "reason": f"it was {token[4:24]}"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == [LOOKS_LIKE_KEY]
    assert token[4:24] not in response.content.decode()
    credential.refresh_from_db()
    assert credential.state == "current"
