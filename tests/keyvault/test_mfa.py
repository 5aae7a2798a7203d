"""Two-factor authentication (allauth.mfa): enrolment from the account page, sign-in with a
TOTP code computed here (pyotp) or a recovery code, the enrolment gate of KEYVAULT_REQUIRE_MFA,
the code at Reveal (a wrong one counted), and an admin's Reset MFA — every change audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from keyvault.accounts.services import user_create
from keyvault.models import AuditAction, AuditEvent, Role
from tests.factories import NOW, PASSWORD, MakeCredential

SECRET = pyotp.random_base32()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """allauth remembers used TOTP codes (and rate limits) in the cache: start each test clean,
    as the same code comes round again within a 30-second period."""
    cache.clear()


def _sign_in(client: Client, username: str) -> Any:
    return client.post(reverse("account_login"), {"login": username, "password": PASSWORD})


def _code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def _signed_in_with_code_just_now(username: str) -> Client:
    """A client signed in with password and code, that has just re-entered its password (as
    allauth asks before a second factor is changed)."""
    client = Client()
    _sign_in(client, username)
    client.post(reverse("mfa_authenticate"), {"code": _code_at(SECRET, datetime.now())})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    return client


def _with_totp(user: Any, secret: str = SECRET) -> list[str]:
    """Give ``user`` an authenticator app and recovery codes; returns the codes."""
    TOTP.activate(user, secret)
    return RecoveryCodes.activate(user).get_unused_codes()


def _reveal_url(credential: Any) -> str:
    return reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})


def test_an_admin_enrols_from_the_account_page_and_then_signs_in_with_password_and_code(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    with time_machine.travel(NOW, tick=False):
        assert _sign_in(client, "alice").status_code == 302
        account = client.get(reverse("keyvault:account"))
        assert reverse("mfa_activate_totp") in account.content.decode()
        # Just signed in with the password: that confirms it is them.
        assert client.get(reverse("mfa_activate_totp")).status_code == 200
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        # Minutes later, changing a second factor asks for the password again first.
        asked = client.get(reverse("mfa_activate_totp"))
        assert asked["Location"].startswith(reverse("account_reauthenticate"))
        confirmed = client.post(asked["Location"], {"password": PASSWORD})
        assert confirmed["Location"] == reverse("mfa_activate_totp")
        page = client.get(reverse("mfa_activate_totp"))
        assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
        secret = page.context["form"].secret
        wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
        assert wrong.status_code == 200 and not Authenticator.objects.exists()
        # allauth signals enrolment once its transaction commits.
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(
                reverse("mfa_activate_totp"),
                {"code": _code_at(secret, NOW + timedelta(minutes=6))},
            )
    assert done.status_code == 302 and done["Location"] == reverse("mfa_view_recovery_codes")
    assert set(Authenticator.objects.values_list("type", flat=True)) == {"totp", "recovery_codes"}
    # The TOTP key is stored encrypted under keyvault's key ring.
    stored = Authenticator.objects.get(type="totp").data["secret"]
    assert stored.startswith("kv:") and secret not in stored
    enabled = AuditEvent.objects.get(action=AuditAction.USER_MFA_ENABLED)
    assert enabled.actor_id == admin_user.pk
    assert enabled.details == {"username": "alice", "kind": "authenticator app"}

    later = NOW + timedelta(minutes=8)
    fresh = Client()
    with time_machine.travel(later, tick=False):
        asked = _sign_in(fresh, "alice")
        assert asked.status_code == 302 and asked["Location"] == reverse("mfa_authenticate")
        # The password alone signs nobody in.
        assert fresh.get(reverse("keyvault:dashboard")).status_code == 302
        refused = fresh.post(reverse("mfa_authenticate"), {"code": "123456"})
        assert refused.status_code == 200 and refused.context["form"].errors
        failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).get()
        assert failed.details == {"username": "alice", "reason": "wrong code"}
        signed_in = fresh.post(reverse("mfa_authenticate"), {"code": _code_at(secret, later)})
        assert signed_in.status_code == 302
        assert fresh.get(reverse("keyvault:dashboard")).status_code == 200


def test_a_recovery_code_signs_in_once(admin_user: Any) -> None:
    codes = _with_totp(admin_user)
    first = Client()
    _sign_in(first, "alice")
    assert first.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert first.get(reverse("keyvault:dashboard")).status_code == 200

    second = Client()
    _sign_in(second, "alice")
    again = second.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert again.status_code == 200
    assert second.get(reverse("keyvault:dashboard")).status_code == 302
    codes_left = Authenticator.objects.get(type="recovery_codes").wrap().get_unused_codes()
    assert codes[0] not in codes_left and len(codes_left) == len(codes) - 1


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_an_admin_without_mfa_is_sent_to_enrol_before_any_other_page(
    admin_client: Client,
) -> None:
    for page in (reverse("keyvault:dashboard"), reverse("keyvault:user_list"), "/account/"):
        response = admin_client.get(page)
        assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    # Enrolment (here: first the password again) and signing out stay reachable.
    enrol = admin_client.get(reverse("mfa_activate_totp"))
    assert enrol.status_code == 302
    assert enrol["Location"].startswith(reverse("account_reauthenticate"))
    assert admin_client.get(enrol["Location"]).status_code == 200
    assert admin_client.post(reverse("account_logout")).status_code == 302


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_an_admin_with_mfa_and_an_auditor_pass_the_admins_gate(
    admin_client: Client, admin_user: Any, auditor_client: Client
) -> None:
    _with_totp(admin_user)
    assert admin_client.get(reverse("keyvault:dashboard")).status_code == 200
    assert auditor_client.get(reverse("keyvault:dashboard")).status_code == 200


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_an_admin_who_signs_in_only_through_the_identity_provider_is_not_sent_to_enrol(
    admin_user: Any, admin_client: Client
) -> None:
    admin_user.set_unusable_password()
    admin_user.save()
    admin_client.force_login(admin_user)
    assert admin_client.get(reverse("keyvault:dashboard")).status_code == 200
    account = admin_client.get(reverse("keyvault:account")).content.decode()
    assert "its second factor protects your account" in account
    assert reverse("mfa_activate_totp") not in account


@override_settings(KEYVAULT_REQUIRE_MFA="all")
def test_all_sends_an_auditor_to_enrol_too(auditor_client: Client) -> None:
    response = auditor_client.get(reverse("keyvault:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


@override_settings(KEYVAULT_REQUIRE_MFA="none")
def test_none_does_not_send_an_admin_to_enrol(admin_client: Client) -> None:
    assert admin_client.get(reverse("keyvault:dashboard")).status_code == 200


@override_settings(KEYVAULT_REQUIRE_MFA="admins")
def test_an_admin_cannot_turn_off_a_required_second_factor(
    admin_user: Any, admin_client: Client
) -> None:
    _with_totp(admin_user)
    client = _signed_in_with_code_just_now("alice")
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200
    assert Authenticator.objects.filter(type="totp").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_MFA_DISABLED).exists()


def test_turning_off_and_new_recovery_codes_are_audited(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _with_totp(admin_user)
    client = _signed_in_with_code_just_now("alice")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mfa_generate_recovery_codes")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.USER_MFA_CODES_REGENERATED).count() == 1
    assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    assert not Authenticator.objects.exists()
    disabled = AuditEvent.objects.get(action=AuditAction.USER_MFA_DISABLED)
    assert disabled.details == {"username": "alice", "kind": "authenticator app"}


def test_reveal_asks_for_the_code_and_counts_a_wrong_one(
    admin_user: Any, admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    _with_totp(admin_user)
    page = admin_client.get(_reveal_url(credential))
    assert 'name="code"' in page.content.decode()

    no_code = admin_client.post(_reveal_url(credential), {"password": PASSWORD})
    assert no_code.status_code == 200 and 'id="revealed-token"' not in no_code.content.decode()

    wrong = admin_client.post(_reveal_url(credential), {"password": PASSWORD, "code": "000000"})
    assert 'id="revealed-token"' not in wrong.content.decode()
    assert "That code is not right" in wrong.content.decode()
    assert "4 attempts left" in wrong.content.decode()
    denied = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_REVEAL_DENIED)
    assert denied.details["reason"] == "wrong code"

    right = admin_client.post(
        _reveal_url(credential),
        {"password": PASSWORD, "code": _code_at(SECRET, datetime.now())},
    )
    assert 'id="revealed-token"' in right.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).count() == 1


def test_reveal_takes_a_recovery_code_and_not_without_the_password(
    admin_user: Any, admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    codes = _with_totp(admin_user)
    wrong_password = admin_client.post(
        _reveal_url(credential), {"password": "not it", "code": codes[1]}
    )
    assert 'id="revealed-token"' not in wrong_password.content.decode()
    right = admin_client.post(_reveal_url(credential), {"password": PASSWORD, "code": codes[1]})
    assert 'id="revealed-token"' in right.content.decode()


def test_an_admin_resets_another_users_mfa_audited(admin_client: Client, admin_user: Any) -> None:
    bob = user_create(username="bob", password=PASSWORD, role=Role.ADMIN)
    _with_totp(bob)
    detail = admin_client.get(reverse("keyvault:user_detail", kwargs={"username": "bob"}))
    assert "Reset MFA" in detail.content.decode()
    users = admin_client.get(reverse("keyvault:user_list")).content.decode()
    assert 'data-label="MFA">On' in users

    response = admin_client.post(reverse("keyvault:user_mfa_reset", kwargs={"username": "bob"}))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=bob).exists()
    event = AuditEvent.objects.get(action=AuditAction.USER_MFA_RESET)
    assert event.actor_id == admin_user.pk and event.target_id == str(bob.pk)
    assert event.details == {"username": "bob", "removed": ["recovery_codes", "totp"]}
    users = admin_client.get(reverse("keyvault:user_list")).content.decode()
    assert 'data-label="MFA">On' not in users

    again = admin_client.post(reverse("keyvault:user_mfa_reset", kwargs={"username": "bob"}))
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.USER_MFA_RESET).count() == 1


def test_reset_mfa_refuses_oneself_and_auditors(
    admin_client: Client, admin_user: Any, auditor_client: Client
) -> None:
    _with_totp(admin_user)
    own = admin_client.post(reverse("keyvault:user_mfa_reset", kwargs={"username": "alice"}))
    assert own.status_code == 400 and b"your own two-factor" in own.content
    forbidden = auditor_client.post(
        reverse("keyvault:user_mfa_reset", kwargs={"username": "alice"})
    )
    assert forbidden.status_code == 403
    assert Authenticator.objects.filter(user=admin_user).count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.USER_MFA_RESET).exists()


@pytest.mark.parametrize("policy", ["sometimes", "ADMINS "])
def test_an_unknown_mfa_policy_is_refused_at_start(policy: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **__import__("os").environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "KEYVAULT_REQUIRE_MFA": policy,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if policy.strip().lower() == "admins":
        assert result.returncode == 0, result.stderr
    else:
        assert "KEYVAULT_REQUIRE_MFA must be admins, all or none" in result.stderr
