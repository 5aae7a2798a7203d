"""Sign out of a user who signed in through the identity provider: keyvault's session ends, and
the browser goes on to the provider's ``end_session_endpoint`` (RP-Initiated Logout) with the
ID token as the hint, coming back to keyvault's sign-in page. Against the real provider on
127.0.0.1 (``tests.oidc_provider``); password users sign out as before."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyvault.accounts.sso_logout import SESSION_KEY
from keyvault.accounts.sso_settings import PROVIDER_ID
from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD
from tests.keyvault.test_sso import sso_sign_in
from tests.oidc_provider import ADMIN_GROUP, OidcProvider

pytestmark = pytest.mark.django_db


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def _discovery_says(settings: Any, **overrides: Any) -> None:
    """allauth's ``openid_configuration_overrides``: the provider's discovery document as
    keyvault reads it, with these entries changed."""
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["openid_connect"]["APPS"][0]["settings"]["openid_configuration_overrides"] = overrides
    settings.SOCIALACCOUNT_PROVIDERS = providers


def _signed_in_through_sso(idp: OidcProvider, sub: str) -> Client:
    idp.set_user(sub, email=f"{sub}@example.com", groups=[ADMIN_GROUP])
    client = Client()
    assert sso_sign_in(client, idp, sub).status_code == 302
    return client


def test_signing_out_an_sso_user_ends_the_session_at_the_provider_too(
    idp: OidcProvider, settings: Any
) -> None:
    client = _signed_in_through_sso(idp, "otto-sub")
    id_token = client.session[SESSION_KEY]["id_token"]
    assert id_token not in client.get(reverse("keyvault:dashboard")).content.decode()

    out = client.post(reverse("account_logout"))

    assert out.status_code == 302
    location = urlsplit(out["Location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == (idp.discovery()["end_session_endpoint"])
    )
    asked = parse_qs(location.query)
    assert set(asked) == {"id_token_hint", "post_logout_redirect_uri"}
    hint = _claims(asked["id_token_hint"][0])
    assert hint["sub"] == "otto-sub" and hint["iss"] == idp.issuer
    assert asked["post_logout_redirect_uri"] == [f"{settings.SITE_URL}/login/"]
    assert out.content == b""
    assert "_auth_user_id" not in client.session
    assert SESSION_KEY not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT).count() == 1

    # The provider ends its session and sends the browser back to keyvault's sign-in page;
    # "Sign in with …" then asks the provider to sign in again.
    assert idp.end_session(out["Location"]) == f"{settings.SITE_URL}/login/"
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}))
    assert urlsplit(start["Location"]).netloc == urlsplit(idp.issuer).netloc
    assert client.get(reverse("keyvault:dashboard")).status_code == 302


def test_a_password_user_signs_out_to_the_sign_in_page_as_before(
    idp: OidcProvider, admin_user: Any
) -> None:
    client = Client()
    client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(admin_user.pk)

    out = client.post(reverse("account_logout"))

    assert out["Location"] == reverse("account_login")
    assert "_auth_user_id" not in client.session


def test_a_password_sign_in_after_an_sso_one_in_the_same_browser_signs_out_in_keyvault_only(
    idp: OidcProvider, admin_user: Any
) -> None:
    client = _signed_in_through_sso(idp, "pia-sub")
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})

    assert client.post(reverse("account_logout"))["Location"] == reverse("account_login")


def test_without_an_end_session_endpoint_sign_out_stays_in_keyvault_and_no_token_is_kept(
    idp: OidcProvider, settings: Any
) -> None:
    _discovery_says(settings, end_session_endpoint=None)
    client = _signed_in_through_sso(idp, "quinn-sub")
    assert SESSION_KEY not in client.session

    assert client.post(reverse("account_logout"))["Location"] == reverse("account_login")
    assert "_auth_user_id" not in client.session


def test_an_end_session_endpoint_off_the_issuers_origin_is_not_used(
    idp: OidcProvider, settings: Any
) -> None:
    # The page's CSP form-action allows the issuer's origin only: a browser would refuse the
    # redirect from the Sign out form to anywhere else.
    _discovery_says(settings, end_session_endpoint="https://logout.example.com/end")
    client = _signed_in_through_sso(idp, "ruth-sub")

    assert client.post(reverse("account_logout"))["Location"] == reverse("account_login")


def test_an_sso_user_asked_for_their_second_factor_at_sign_in_still_signs_out_at_the_provider(
    idp: OidcProvider,
) -> None:
    _signed_in_through_sso(idp, "ivy-sub")
    ivy = get_user_model().objects.get(email="ivy-sub@example.com")
    cache.clear()  # allauth remembers used TOTP codes
    secret = pyotp.random_base32()
    TOTP.activate(ivy, secret)

    client = Client()
    asked = sso_sign_in(client, idp, "ivy-sub")
    assert asked["Location"] == reverse("mfa_authenticate")
    signed_in = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(ivy.pk)

    out = client.post(reverse("account_logout"))
    assert out["Location"].startswith(idp.discovery()["end_session_endpoint"] + "?")
