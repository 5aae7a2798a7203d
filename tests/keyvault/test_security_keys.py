"""Security keys and passkeys (WebAuthn, allauth.mfa) as a second factor: added from the account
page, then touched after the password to sign in and to reveal; a wrong or replayed answer is
refused, audited and counted; the last key a role requires stays. The key is a software one
(tests/webauthn_key.py) whose answers allauth and fido2 check like a hardware key's."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from fido2.utils import websafe_encode

from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, MakeCredential
from tests.webauthn_key import HOST, SoftKey, as_field, open_challenge


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # allauth's rate limits live there


def _browser() -> Client:
    """A test client at a host name (a security key is bound to one; never to an IP)."""
    return Client(HTTP_HOST=HOST)


def _sign_in(client: Client, username: str = "alice") -> Any:
    return client.post(reverse("account_login"), {"login": username, "password": PASSWORD})


def _with_key(user: Any, name: str = "YubiKey") -> SoftKey:
    """Give ``user`` a security key, as if added earlier; returns the key."""
    key = SoftKey()
    WebAuthn.add(user, name, key.register("earlier"))
    return key


def _reveal_url(credential: Any) -> str:
    return reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})


def _admin_with_key_at_reveal(
    admin_user: Any, make_credential: MakeCredential
) -> tuple[Client, Any, SoftKey]:
    """A signed-in admin with a security key, and a credential to reveal."""
    credential, _ = make_credential()
    key = _with_key(admin_user)
    client = _browser()
    client.force_login(admin_user)
    return client, credential, key


def test_an_admin_adds_a_security_key_and_then_signs_in_with_password_and_key(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = _browser()
    assert _sign_in(client).status_code == 302
    account = client.get(reverse("keyvault:account")).content.decode()
    assert reverse("mfa_add_webauthn") in account
    # Signed in a moment ago: adding a key does not ask for the password again.
    page = client.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    assert 'id="mfa_webauthn_add"' in page.content.decode()
    key = SoftKey()
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(
            reverse("mfa_add_webauthn"),
            {"name": "Desk key", "credential": as_field(key.register(open_challenge(client)))},
        )
    assert added.status_code == 302 and added["Location"] == reverse("mfa_view_recovery_codes")
    assert set(Authenticator.objects.values_list("type", flat=True)) == {
        "webauthn",
        "recovery_codes",
    }
    enabled = AuditEvent.objects.get(action=AuditAction.USER_MFA_ENABLED)
    assert enabled.details == {"username": "alice", "kind": "security key"}
    account = client.get(reverse("keyvault:account")).content.decode()
    assert "Desk key" in account and "not used yet" in account

    fresh = _browser()
    asked = _sign_in(fresh)
    assert asked.status_code == 302 and asked["Location"] == reverse("mfa_authenticate")
    stage = fresh.get(reverse("mfa_authenticate")).content.decode()
    assert "Use security key" in stage
    signed_in = fresh.post(
        reverse("mfa_authenticate"), {"credential": as_field(key.sign(open_challenge(fresh)))}
    )
    assert signed_in.status_code == 302
    assert fresh.get(reverse("keyvault:dashboard")).status_code == 200
    assert Authenticator.objects.get(type="webauthn").last_used_at is not None


def test_a_key_answer_to_another_challenge_or_from_an_unknown_key_does_not_sign_in(
    admin_user: Any,
) -> None:
    key = _with_key(admin_user)
    client = _browser()
    _sign_in(client)
    client.get(reverse("mfa_authenticate"))
    stale = client.post(
        reverse("mfa_authenticate"),
        {"credential": as_field(key.sign(websafe_encode(os.urandom(32))))},
    )
    assert stale.status_code == 200
    assert client.get(reverse("keyvault:dashboard")).status_code == 302

    client.get(reverse("mfa_authenticate"))
    stranger = SoftKey()
    unknown = client.post(
        reverse("mfa_authenticate"),
        {"credential": as_field(stranger.sign(open_challenge(client)))},
    )
    assert unknown.status_code == 200
    assert "That security key was not accepted" in unknown.content.decode()
    assert client.get(reverse("keyvault:dashboard")).status_code == 302
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert [e.details for e in failed] == [
        {"username": "alice", "reason": "security key refused"}
    ] * 2
    assert event_sentence(failed.first()) == "a sign-in as “alice” failed (security key refused)"


def test_a_key_registered_for_another_site_is_not_added(admin_user: Any) -> None:
    client = _browser()
    _sign_in(client)
    client.get(reverse("mfa_add_webauthn"))
    elsewhere = SoftKey(rp_id="evil.example", origin="https://evil.example")
    refused = client.post(
        reverse("mfa_add_webauthn"),
        {"credential": as_field(elsewhere.register(open_challenge(client)))},
    )
    assert refused.status_code == 200
    assert not Authenticator.objects.exists()


def test_reveal_takes_the_password_and_a_touch_of_the_key_once(
    admin_user: Any, make_credential: MakeCredential
) -> None:
    client, credential, key = _admin_with_key_at_reveal(admin_user, make_credential)
    page = client.get(_reveal_url(credential)).content.decode()
    assert 'id="reveal-security-key"' in page and 'name="code"' in page
    # No authenticator app: the code field takes a recovery code.
    assert "Recovery code" in page and "Code from your authenticator app" not in page

    answer = as_field(key.sign(open_challenge(client)))
    right = client.post(_reveal_url(credential), {"password": PASSWORD, "credential": answer})
    assert 'id="revealed-token"' in right.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).count() == 1

    # The same answer again: its challenge is used up.
    client.get(_reveal_url(credential))
    replayed = client.post(_reveal_url(credential), {"password": PASSWORD, "credential": answer})
    body = replayed.content.decode()
    assert 'id="revealed-token"' not in body
    assert "That security key was not accepted" in body and "4 attempts left" in body
    denied = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_REVEAL_DENIED)
    assert denied.details["reason"] == "security key refused"


def test_reveal_with_a_key_still_needs_the_password(
    admin_user: Any, make_credential: MakeCredential
) -> None:
    client, credential, key = _admin_with_key_at_reveal(admin_user, make_credential)
    client.get(_reveal_url(credential))
    answer = as_field(key.sign(open_challenge(client)))
    wrong = client.post(_reveal_url(credential), {"password": "not it", "credential": answer})
    assert 'id="revealed-token"' not in wrong.content.decode()
    assert "That password is not right" in wrong.content.decode()

    client.get(_reveal_url(credential))
    neither = client.post(_reveal_url(credential), {"password": PASSWORD})
    assert 'id="revealed-token"' not in neither.content.decode()
    assert "Enter a code, or use your security key." in neither.content.decode()
    # Only the wrong password counted; asking for the missing factor did not.
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEAL_DENIED).count() == 1


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_the_last_key_a_role_requires_stays_and_a_second_one_can_go(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _with_key(admin_user, "First")
    client = _browser()
    client.force_login(admin_user)
    only = Authenticator.objects.get(type="webauthn")
    account = client.get(reverse("keyvault:account")).content.decode()
    assert reverse("mfa_remove_webauthn", kwargs={"pk": only.pk}) not in account
    refused = client.post(reverse("mfa_remove_webauthn", kwargs={"pk": only.pk}))
    assert refused.status_code == 302 and refused["Location"] == reverse("keyvault:account")
    assert Authenticator.objects.filter(pk=only.pk).exists()

    _with_key(admin_user, "Second")
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(reverse("mfa_remove_webauthn", kwargs={"pk": only.pk}))
    assert removed.status_code == 302
    assert list(Authenticator.objects.filter(type="webauthn").values_list("data__name", flat=True))
    assert not Authenticator.objects.filter(pk=only.pk).exists()
    disabled = AuditEvent.objects.get(action=AuditAction.USER_MFA_DISABLED)
    assert disabled.details == {"username": "alice", "kind": "security key"}


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_a_key_meets_the_admins_requirement_and_shows_as_mfa_on(
    admin_user: Any, admin_client: Client
) -> None:
    assert admin_client.get(reverse("keyvault:dashboard")).status_code == 302
    _with_key(admin_user)
    assert admin_client.get(reverse("keyvault:dashboard")).status_code == 200
    users = admin_client.get(reverse("keyvault:user_list")).content.decode()
    assert 'data-label="MFA">On' in users


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_an_admin_sent_to_enrol_right_after_signing_in_is_not_asked_for_the_password_again(
    admin_user: Any,
) -> None:
    client = _browser()
    signed_in = _sign_in(client)
    assert signed_in.status_code == 302
    sent = client.get(reverse("keyvault:dashboard"))
    assert sent["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    assert client.get(reverse("mfa_add_webauthn")).status_code == 200


_JUNK_ANSWERS = [
    "{}",
    "[]",
    "null",
    '"text"',
    json.dumps({"id": "a", "rawId": "a", "type": "public-key", "response": {}}),
    json.dumps(
        {
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
            "response": {"clientDataJSON": "AAAA", "authenticatorData": "AA", "signature": "A"},
        }
    ),
]


@pytest.mark.parametrize("junk", _JUNK_ANSWERS)
def test_a_malformed_key_answer_is_refused_not_an_error(
    admin_user: Any, make_credential: MakeCredential, junk: str
) -> None:
    client, credential, _ = _admin_with_key_at_reveal(admin_user, make_credential)
    client.get(_reveal_url(credential))
    refused = client.post(_reveal_url(credential), {"password": PASSWORD, "credential": junk})
    assert refused.status_code == 200 and 'id="revealed-token"' not in refused.content.decode()

    signing_in = _browser()
    _sign_in(signing_in)
    signing_in.get(reverse("mfa_authenticate"))
    stage = signing_in.post(reverse("mfa_authenticate"), {"credential": junk})
    assert stage.status_code == 200
    assert signing_in.get(reverse("keyvault:dashboard")).status_code == 302
