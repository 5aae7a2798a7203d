"""Two first sign-ins of the same new person at once (two tabs, a double click): one user is
made, once audited, and both tabs end signed in as that user. Against the real provider on
127.0.0.1 (``tests.oidc_provider``); the race is between real database transactions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.test import Client
from django.urls import reverse

from keyvault.accounts.selectors import user_role
from keyvault.accounts.sso_settings import PROVIDER_ID
from keyvault.audit.chain import audit_verify
from keyvault.models import AuditAction, AuditEvent, Role
from tests.conftest import SSO_NAME
from tests.factories import run_concurrently
from tests.keyvault.test_sso import sso_sign_in, text
from tests.oidc_provider import ADMIN_GROUP, OidcProvider


def signed_in_at_provider(client: Client, idp: OidcProvider, sub: str) -> str:
    """Press "Sign in with …" and sign in as ``sub`` at the provider; the callback address
    the provider sends the browser back to (not yet opened)."""
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}))
    callback = urlsplit(idp.authorize(start["Location"], sub))
    return f"{callback.path}?{callback.query}"


def _created_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.USER_SSO_CREATED))


@pytest.fixture
def slow_first_sign_in() -> Iterator[None]:
    """Hold each new identity's transaction open a moment after its row is written, so the
    other tab's sign-in looks the identity up while the first one has not committed yet."""

    def hold(sender: Any, created: bool, **kwargs: Any) -> None:
        if created:
            time.sleep(0.3)

    post_save.connect(hold, sender=SocialAccount, weak=False, dispatch_uid="test-slow-signup")
    yield
    post_save.disconnect(sender=SocialAccount, dispatch_uid="test-slow-signup")


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_make_one_user_and_sign_both_tabs_in(
    idp: OidcProvider, slow_first_sign_in: None
) -> None:
    idp.set_user("tab-sub", email="tab@example.com", groups=[ADMIN_GROUP])
    tabs = [Client(raise_request_exception=False), Client(raise_request_exception=False)]
    callbacks = [signed_in_at_provider(tab, idp, "tab-sub") for tab in tabs]

    answers = run_concurrently(lambda i: tabs[i].get(callbacks[i]), count=2)

    assert [getattr(a, "status_code", a) for a in answers] == [302, 302]
    assert [a["Location"] for a in answers] == [reverse("keyvault:dashboard")] * 2
    (user,) = get_user_model().objects.all()
    assert user.email == "tab@example.com"
    assert user_role(user) == Role.ADMIN
    assert SocialAccount.objects.get(provider=PROVIDER_ID, uid="tab-sub").user == user
    for tab in tabs:
        assert tab.session["_auth_user_id"] == str(user.pk)
        assert tab.get(reverse("keyvault:dashboard")).status_code == 200
    (created,) = _created_events()
    assert created.target_id == str(user.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.USER_SSO_ROLE_CHANGED).exists()
    assert audit_verify().ok


@pytest.mark.django_db
def test_a_first_sign_in_that_finds_its_email_taken_by_the_same_person_made_meanwhile_signs_in(
    idp: OidcProvider,
) -> None:
    """The other tab finishes between allauth's lookup of this identity and keyvault's check
    for a password account with the email address: that account is this identity's own."""
    idp.set_user("late-sub", email="late@example.com", groups=[ADMIN_GROUP])
    other_tab, this_tab = Client(), Client()
    other_callback = signed_in_at_provider(other_tab, idp, "late-sub")
    this_callback = signed_in_at_provider(this_tab, idp, "late-sub")
    real_lookup = SocialLogin.lookup
    other_tab_pending = [other_callback]

    def lookup_then_other_tab_finishes(sociallogin: SocialLogin) -> None:
        real_lookup(sociallogin)
        if other_tab_pending:
            assert other_tab.get(other_tab_pending.pop()).status_code == 302

    with mock.patch.object(SocialLogin, "lookup", lookup_then_other_tab_finishes):
        answer = this_tab.get(this_callback)

    assert answer.status_code == 302, text(answer)
    (user,) = get_user_model().objects.all()
    assert this_tab.session["_auth_user_id"] == other_tab.session["_auth_user_id"] == str(user.pk)
    assert len(_created_events()) == 1
    assert not AuditEvent.objects.filter(action=AuditAction.USER_SSO_REFUSED).exists()


@pytest.mark.django_db
def test_a_username_taken_at_the_same_moment_by_someone_else_asks_to_sign_in_again(
    idp: OidcProvider,
) -> None:
    idp.set_user("kim-sub", email="kim@example.com", groups=[ADMIN_GROUP])
    user_model = get_user_model()

    def someone_else_takes_the_name(sender: Any, instance: Any, **kwargs: Any) -> None:
        pre_save.disconnect(sender=user_model, dispatch_uid="test-name-taken")
        user_model.objects.create(username=instance.username, email="other@example.com")

    pre_save.connect(
        someone_else_takes_the_name, sender=user_model, weak=False, dispatch_uid="test-name-taken"
    )
    try:
        answer = sso_sign_in(Client(), idp, "kim-sub")
    finally:
        pre_save.disconnect(sender=user_model, dispatch_uid="test-name-taken")

    assert answer.status_code == 409
    assert f"Nothing was saved: sign in with {SSO_NAME} again" in text(answer)
    assert "recorded in the audit log" not in text(answer)
    assert not user_model.objects.filter(email="kim@example.com").exists()
    assert not _created_events()

    client = Client()
    assert sso_sign_in(client, idp, "kim-sub").status_code == 302
    assert user_model.objects.get(email="kim@example.com").pk == int(
        client.session["_auth_user_id"]
    )
    assert len(_created_events()) == 1
