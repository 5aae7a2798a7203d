"""Sign-in through the company's identity provider: a real OpenID provider (oidc-provider-mock)
on 127.0.0.1, driven through keyvault's own pages by Django's test client. The groups claim
gives the role at every sign-in; users are created at their first sign-in; all of it audited."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.views.debug import get_default_exception_reporter_filter

from keyvault.accounts.selectors import user_role
from keyvault.accounts.services import user_add, user_deactivate
from keyvault.accounts.sso import claim_groups, role_for_groups
from keyvault.accounts.sso_settings import PROVIDER_ID, issuer_problem
from keyvault.audit.sentences import event_sentence
from keyvault.checks import sso_settings_check
from keyvault.models import AuditAction, AuditEvent, Role
from tests.conftest import SSO_NAME
from tests.factories import NOW, PASSWORD
from tests.oidc_provider import ADMIN_GROUP, AUDITOR_GROUP, OidcProvider

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def sso_sign_in(client: Client, idp: OidcProvider, sub: str) -> Any:
    """Press "Sign in with …", sign in as ``sub`` at the provider, follow it back."""
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}))
    assert start.status_code == 302, start
    callback = urlsplit(idp.authorize(start["Location"], sub))
    return client.get(f"{callback.path}?{callback.query}")


def signed_up(idp: OidcProvider, sub: str, email: str, groups: list[str]) -> Any:
    """Give ``sub`` these claims at the provider, sign them in once; their keyvault user."""
    idp.set_user(sub, email=email, groups=groups)
    sso_sign_in(Client(), idp, sub)
    return get_user_model().objects.get(email=email)


def _user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_the_groups_claim_is_read_from_the_id_token_then_userinfo() -> None:
    claims = {"id_token": {"groups": ["a"]}, "userinfo": {"groups": ["b"]}}
    assert claim_groups(claims, claim="groups") == ["a"]
    assert claim_groups({"userinfo": {"groups": ["b"]}}, claim="groups") == ["b"]
    assert claim_groups({"id_token": {"hd": "example.com"}}, claim="hd") == ["example.com"]
    assert claim_groups({"id_token": {"groups": 7}}, claim="groups") == []
    assert claim_groups({}, claim="groups") == []


def test_an_admin_group_wins_over_an_auditor_group_and_case_does_not_matter() -> None:
    both = ["Keyvault-Auditors", "KEYVAULT-ADMINS"]
    roles = {"admin_groups": [ADMIN_GROUP], "auditor_groups": [AUDITOR_GROUP]}
    assert role_for_groups(both, **roles) == Role.ADMIN
    assert role_for_groups([AUDITOR_GROUP], **roles) == Role.AUDITOR
    assert role_for_groups(["engineering"], **roles) is None
    assert role_for_groups([""], admin_groups=[""], auditor_groups=[]) is None


def test_an_issuer_must_be_https_or_plain_http_on_this_machine() -> None:
    assert issuer_problem("https://acme.okta.com") == ""
    assert issuer_problem("http://127.0.0.1:9400") == ""
    assert issuer_problem("http://localhost:9400") == ""
    assert "https://" in issuer_problem("http://idp.example.com")
    assert issuer_problem("idp.example.com")


def test_a_first_sign_in_creates_the_user_with_the_role_from_the_groups_claim(
    idp: OidcProvider,
) -> None:
    idp.set_user("ann-sub", email="ann@example.com", groups=[ADMIN_GROUP])
    client = Client()
    response = sso_sign_in(client, idp, "ann-sub")

    assert response.status_code == 302
    assert response["Location"] == reverse("keyvault:dashboard")
    ann = get_user_model().objects.get(email="ann@example.com")
    assert user_role(ann) == Role.ADMIN
    assert not ann.has_usable_password()
    assert client.get(reverse("keyvault:dashboard")).status_code == 200
    (created,) = _events(AuditAction.USER_SSO_CREATED)
    assert created.target_id == str(ann.pk)
    assert created.details["role"] == "admin"
    assert event_sentence(created) == (
        f"“{ann.username}” signed in through SSO for the first time and was created as an admin"
    )


def test_the_role_follows_the_groups_claim_at_every_sign_in(idp: OidcProvider) -> None:
    bob = signed_up(idp, "bob-sub", "bob@example.com", [ADMIN_GROUP, "staff"])
    assert user_role(bob) == Role.ADMIN

    idp.set_user("bob-sub", email="bob@example.com", groups=[AUDITOR_GROUP])
    client = Client()
    assert sso_sign_in(client, idp, "bob-sub").status_code == 302
    bob.refresh_from_db()
    assert user_role(bob) == Role.AUDITOR
    assert client.get(reverse("keyvault:dashboard")).status_code == 200
    assert client.get(reverse("keyvault:integration_create")).status_code == 403

    (changed,) = _events(AuditAction.USER_SSO_ROLE_CHANGED)
    assert changed.details == {"username": bob.username, "from": "admin", "to": "auditor"}
    assert changed.actor_label == f"{SSO_NAME} (SSO)"
    assert event_sentence(changed) == (
        f"the identity provider's groups made “{bob.username}” an auditor (was an admin)"
    )
    # The same claim again changes nothing and writes nothing.
    sso_sign_in(Client(), idp, "bob-sub")
    assert len(_events(AuditAction.USER_SSO_ROLE_CHANGED)) == 1


def test_a_user_taken_out_of_every_group_loses_the_role_and_is_refused(
    idp: OidcProvider,
) -> None:
    cy = signed_up(idp, "cy-sub", "cy@example.com", [AUDITOR_GROUP])

    idp.set_user("cy-sub", email="cy@example.com", groups=["engineering"])
    client = Client()
    response = sso_sign_in(client, idp, "cy-sub")

    assert response.status_code == 403
    assert "none of the groups that give access to keyvault" in text(response)
    cy.refresh_from_db()
    assert user_role(cy) is None
    assert "_auth_user_id" not in client.session
    (changed,) = _events(AuditAction.USER_SSO_ROLE_CHANGED)
    assert changed.details["to"] == ""
    (refused,) = _events(AuditAction.USER_SSO_REFUSED)
    assert refused.details == {"username": cy.username, "reason": "in no keyvault group"}


def test_someone_in_no_group_is_refused_at_the_first_sign_in_and_no_user_is_made(
    idp: OidcProvider,
) -> None:
    idp.set_user("dee-sub", email="dee@example.com")
    response = sso_sign_in(Client(), idp, "dee-sub")

    assert response.status_code == 403
    assert f"Your {SSO_NAME} account is in none of the groups" in text(response)
    assert not get_user_model().objects.filter(email="dee@example.com").exists()
    (refused,) = _events(AuditAction.USER_SSO_REFUSED)
    assert event_sentence(refused) == (
        "SSO sign-in of “dee@example.com” was refused: in no keyvault group"
    )
    assert not _events(AuditAction.USER_SSO_CREATED)


def test_an_sso_sign_in_never_takes_over_a_password_account_with_the_same_email(
    idp: OidcProvider, admin_user: Any
) -> None:
    user_add(username="eve", email="eve@example.com", role=Role.AUDITOR, now=NOW)
    idp.set_user("eve-sub", email="eve@example.com", groups=[ADMIN_GROUP])
    response = sso_sign_in(Client(), idp, "eve-sub")

    assert response.status_code == 403
    assert "exists already and signs in with a password" in text(response)
    assert user_role(_user("eve")) == Role.AUDITOR
    assert get_user_model().objects.filter(email__iexact="eve@example.com").count() == 1


def test_the_users_page_says_an_sso_user_signs_in_with_sso(
    idp: OidcProvider, admin_client: Client
) -> None:
    fay = signed_up(idp, "fay-sub", "fay@example.com", [AUDITOR_GROUP])

    page = admin_client.get(reverse("keyvault:user_detail", kwargs={"username": fay.username}))
    assert "Signs in with SSO" in text(page)
    assert f"At each sign-in through {SSO_NAME} the role is set again" in text(page)


def test_password_sign_in_off_without_sso_is_a_configuration_error(settings: Any) -> None:
    settings.KEYVAULT_PASSWORD_LOGIN = False
    settings.KEYVAULT_OIDC_ISSUER = ""
    assert [m.id for m in sso_settings_check(None)] == ["keyvault.E020"]


def test_sso_without_any_group_mapped_is_warned_about(idp: OidcProvider, settings: Any) -> None:
    assert sso_settings_check(None) == []
    settings.KEYVAULT_OIDC_ADMIN_GROUPS = []
    settings.KEYVAULT_OIDC_AUDITOR_GROUPS = []
    assert [m.id for m in sso_settings_check(None)] == ["keyvault.W020"]


def test_the_sign_in_page_offers_the_provider_by_its_name(idp: OidcProvider) -> None:
    page = Client().get(reverse("account_login"))
    assert f"Sign in with {SSO_NAME}" in text(page)
    assert 'name="password"' in page.content.decode()


def test_without_sso_the_sign_in_page_has_no_provider_button(settings: Any) -> None:
    settings.KEYVAULT_OIDC_ISSUER = ""
    assert "Sign in with" not in text(Client().get(reverse("account_login")))


def test_password_sign_in_off_refuses_a_right_password_and_sso_still_works(
    idp: OidcProvider, admin_user: Any, settings: Any
) -> None:
    settings.KEYVAULT_PASSWORD_LOGIN = False
    client = Client()
    page = client.get(reverse("account_login"))
    assert 'name="password"' not in page.content.decode()
    assert "Password sign-in is off" in text(page)

    refused = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Password sign-in is off here" in text(refused)
    assert "_auth_user_id" not in client.session

    idp.set_user("gus-sub", email="gus@example.com", groups=[ADMIN_GROUP])
    assert sso_sign_in(client, idp, "gus-sub").status_code == 302
    assert client.get(reverse("keyvault:dashboard")).status_code == 200


def test_linking_a_provider_identity_to_a_signed_in_account_is_refused(
    idp: OidcProvider, admin_client: Client, admin_user: Any
) -> None:
    idp.set_user("hal-sub", email="hal@example.com", groups=[ADMIN_GROUP])
    start = admin_client.post(
        reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}),
        {"process": "connect"},
    )
    callback = urlsplit(idp.authorize(start["Location"], "hal-sub"))
    response = admin_client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 403
    assert not admin_user.socialaccount_set.exists()


def test_a_sign_in_cancelled_at_the_provider_says_so(idp: OidcProvider) -> None:
    client = Client()
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    callback = reverse("openid_connect_callback", kwargs={"provider_id": PROVIDER_ID})
    response = client.get(callback, {"error": "access_denied", "state": state}, follow=True)
    assert "Sign-in cancelled" in text(response)
    assert "_auth_user_id" not in client.session


def test_opening_the_provider_address_asks_before_leaving_for_the_provider(
    idp: OidcProvider,
) -> None:
    url = reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID})
    page = Client().get(url)
    assert page.status_code == 200
    assert f"Continue to {SSO_NAME}" in text(page)


def test_a_deactivated_user_is_refused_at_the_provider_sign_in_and_told_why(
    idp: OidcProvider, admin_user: Any
) -> None:
    ike = signed_up(idp, "ike-sub", "ike@example.com", [ADMIN_GROUP])
    user_deactivate(user=ike, actor=admin_user, now=NOW)

    client = Client()
    response = sso_sign_in(client, idp, "ike-sub")

    assert response.status_code == 403
    assert "deactivated" in text(response)
    assert "_auth_user_id" not in client.session
    (refused,) = _events(AuditAction.USER_SSO_REFUSED)
    assert refused.details == {"username": ike.username, "reason": "account deactivated"}


def test_error_reports_hide_the_oidc_client_secret(idp: OidcProvider) -> None:
    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert "test-client-secret" not in repr(safe)
    assert "keyvault-test" in repr(safe["SOCIALACCOUNT_PROVIDERS"])  # the rest is still shown


def test_an_sso_sign_in_lands_on_the_page_that_asked_for_it(idp: OidcProvider) -> None:
    idp.set_user("jo-sub", email="jo@example.com", groups=[AUDITOR_GROUP])
    client = Client()
    asked = client.get(reverse("keyvault:audit_log"))
    login_page = client.get(asked["Location"])
    sso_form = login_page.content.decode().split('id="sso-sign-in"')[1].split("</form>")[0]
    assert 'name="next" value="/audit/"' in sso_form

    start = client.post(
        reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}), {"next": "/audit/"}
    )
    callback = urlsplit(idp.authorize(start["Location"], "jo-sub"))
    response = client.get(f"{callback.path}?{callback.query}")
    assert response["Location"] == "/audit/"


def test_the_invite_page_says_sso_users_need_no_invitation(
    idp: OidcProvider, admin_client: Client, settings: Any
) -> None:
    page = text(admin_client.get(reverse("keyvault:user_invite")))
    assert f"People who sign in with {SSO_NAME} need no invitation" in page
    assert "Password sign-in is off" not in page
    settings.KEYVAULT_PASSWORD_LOGIN = False
    page = text(admin_client.get(reverse("keyvault:user_invite")))
    assert "Password sign-in is off, so an invited user could not sign in" in page


def test_linking_an_identity_to_a_signed_in_account_is_refused_and_audited(
    idp: OidcProvider, admin_user: Any
) -> None:
    idp.set_user("lena-sub", email="lena@example.com", groups=[ADMIN_GROUP])
    client = Client()
    client.force_login(admin_user)
    start = client.post(
        reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}), {"process": "connect"}
    )
    assert start.status_code == 302, start
    callback = urlsplit(idp.authorize(start["Location"], "lena-sub"))
    page = client.get(f"{callback.path}?{callback.query}")
    assert page.status_code == 403
    assert "links no accounts" in text(page) and "recorded in the audit log" in text(page)
    (refused,) = _events(AuditAction.USER_SSO_REFUSED)
    assert refused.details == {"username": "lena@example.com", "reason": "linking not offered"}
    assert not get_user_model().objects.filter(email="lena@example.com").exists()
