"""Reveal for a user who signs in through the identity provider: they sign in there again
(``prompt=login``, ``max_age=0``) and the ID token's ``auth_time`` must be after they asked.
Against the real provider on 127.0.0.1 (``tests.oidc_provider``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyvault.accounts.selectors import user_role
from keyvault.models import AuditAction, AuditEvent, Role
from keyvault.web.reauth import SSO_AUTH_TIME_LEEWAY, sso_auth_time_fresh
from tests.conftest import SSO_NAME
from tests.factories import MakeCredential
from tests.keyvault.test_sso import sso_sign_in, text
from tests.oidc_provider import ADMIN_GROUP, AUDITOR_GROUP, OidcProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso_admin(idp: OidcProvider) -> tuple[Client, Any]:
    """An admin signed in through the provider (no keyvault password)."""
    idp.set_user("rita-sub", email="rita@example.com", groups=[ADMIN_GROUP])
    client = Client()
    sso_sign_in(client, idp, "rita-sub")
    return client, get_user_model().objects.get(email="rita@example.com")


def confirm_at_provider(client: Client, idp: OidcProvider, credential: Any, sub: str) -> Any:
    """Press "Confirm with …" on the reveal page, sign in as ``sub`` at the provider, and
    follow the answer back to keyvault; returns the page keyvault then shows."""
    start = client.post(
        reverse("keyvault:credential_reveal_sso", kwargs={"credential_id": credential.pk})
    )
    assert start.status_code == 302, start
    asked = parse_qs(urlsplit(start["Location"]).query)
    assert asked["prompt"] == ["login"] and asked["max_age"] == ["0"]
    callback = urlsplit(idp.authorize(start["Location"], sub))
    back = client.get(f"{callback.path}?{callback.query}")
    if back.status_code != 302:
        return back
    return client.get(back["Location"])


def _reveal_events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_an_auth_time_is_fresh_only_after_the_request_within_the_leeway() -> None:
    asked = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert sso_auth_time_fresh(auth_time=asked + timedelta(seconds=5), requested_at=asked)
    assert sso_auth_time_fresh(auth_time=asked - SSO_AUTH_TIME_LEEWAY, requested_at=asked)
    assert not sso_auth_time_fresh(auth_time=asked - timedelta(minutes=5), requested_at=asked)
    assert not sso_auth_time_fresh(auth_time=None, requested_at=asked)


def test_the_reveal_page_offers_the_provider_and_no_password_to_an_sso_user(
    sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    client, _ = sso_admin
    credential, _ = make_credential()
    page = client.get(
        reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})
    )
    assert f"Confirm with {SSO_NAME}" in text(page)
    assert 'name="password"' not in page.content.decode()


def test_a_fresh_sign_in_at_the_provider_reveals_the_credential(
    idp: OidcProvider, sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    client, rita = sso_admin
    credential, token = make_credential()

    page = confirm_at_provider(client, idp, credential, "rita-sub")

    assert page.status_code == 200
    assert token in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    (revealed,) = _reveal_events(AuditAction.CREDENTIAL_REVEALED)
    assert revealed.actor_id == rita.pk
    assert not _reveal_events(AuditAction.CREDENTIAL_REVEAL_DENIED)
    # The answer is used once: coming back to the same address reveals nothing more.
    again = client.get(
        reverse("keyvault:credential_reveal_sso_done", kwargs={"credential_id": credential.pk})
    )
    assert again.status_code == 302
    assert len(_reveal_events(AuditAction.CREDENTIAL_REVEALED)) == 1


def test_a_sign_in_from_before_the_request_is_refused_and_counted(
    idp: OidcProvider, sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    client, _ = sso_admin
    credential, token = make_credential()
    # keyvault's clock ten minutes ahead of the provider's: the provider's auth_time is then
    # ten minutes before the request, as when it answers with a sign-in it remembered.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10), tick=True):
        page = confirm_at_provider(client, idp, credential, "rita-sub")

    assert page.status_code == 200
    assert token not in page.content.decode()
    assert f"{SSO_NAME} did not ask you to sign in again" in text(page)
    assert "4 attempts left" in text(page)
    (denied,) = _reveal_events(AuditAction.CREDENTIAL_REVEAL_DENIED)
    assert denied.details["reason"] == "stale sign-in at the identity provider"
    assert not _reveal_events(AuditAction.CREDENTIAL_REVEALED)


def test_confirming_as_another_provider_user_reveals_nothing(
    idp: OidcProvider, sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    idp.set_user("sam-sub", email="sam@example.com", groups=[ADMIN_GROUP])
    sso_sign_in(Client(), idp, "sam-sub")
    client, _ = sso_admin
    credential, token = make_credential()

    page = confirm_at_provider(client, idp, credential, "sam-sub")

    assert page.status_code == 403
    assert "another" in text(page) and token not in page.content.decode()
    assert "recorded in the audit log" in text(page)
    assert not _reveal_events(AuditAction.CREDENTIAL_REVEALED)
    (refused,) = _reveal_events(AuditAction.USER_SSO_REFUSED)
    assert refused.details == {
        "username": "sam",
        "reason": "confirmed a reveal for rita as another user",
    }


def test_confirming_at_the_provider_applies_its_groups_claim(
    idp: OidcProvider, sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    client, rita = sso_admin
    credential, token = make_credential()
    idp.set_user("rita-sub", email="rita@example.com", groups=[AUDITOR_GROUP])

    page = confirm_at_provider(client, idp, credential, "rita-sub")

    assert page.status_code == 403
    rita.refresh_from_db()
    assert user_role(rita) == Role.AUDITOR
    assert token not in page.content.decode()
    assert not _reveal_events(AuditAction.CREDENTIAL_REVEALED)


def test_an_sso_user_with_a_keyvault_second_factor_may_reveal_with_its_code_alone(
    sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    cache.clear()  # allauth remembers used TOTP codes
    client, rita = sso_admin
    credential, token = make_credential()
    secret = pyotp.random_base32()
    TOTP.activate(rita, secret)
    url = reverse("keyvault:credential_reveal", args=[credential.pk])

    page = client.get(url).content.decode()
    assert 'name="code"' in page and 'name="password"' not in page
    assert f"Confirm with {SSO_NAME}" in page

    wrong = client.post(url, {"code": "000000"})
    assert token not in wrong.content.decode()
    assert "That code is not right" in text(wrong)
    right = client.post(url, {"code": pyotp.TOTP(secret).now()})
    assert token in right.content.decode()
    assert len(_reveal_events(AuditAction.CREDENTIAL_REVEALED)) == 1


def test_an_sso_user_without_a_second_factor_cannot_reveal_by_posting_the_form(
    sso_admin: tuple[Client, Any], make_credential: MakeCredential
) -> None:
    client, _ = sso_admin
    credential, token = make_credential()
    url = reverse("keyvault:credential_reveal", args=[credential.pk])
    for data in ({}, {"code": "123456"}, {"password": ""}, {"password": "anything"}):
        assert token not in client.post(url, data).content.decode()
    assert not _reveal_events(AuditAction.CREDENTIAL_REVEALED)
