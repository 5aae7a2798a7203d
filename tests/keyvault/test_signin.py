"""Sign-in through django-allauth: username and password, closed registration, sign-out."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from keyvault.accounts.adapter import AccountAdapter
from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD


def test_registration_is_closed_in_the_adapter_and_has_no_page() -> None:
    assert AccountAdapter().is_open_for_signup(RequestFactory().get("/")) is False
    with pytest.raises(NoReverseMatch):
        reverse("account_signup")
    assert Client().get("/accounts/signup/").status_code in (302, 404)


def test_sign_in_page_has_the_username_form_and_the_content_security_policy(
    client: Client,
) -> None:
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert 'name="login"' in response.content.decode()
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "Forgot your password" not in response.content.decode()


def test_sign_in_with_username_and_password_goes_to_next_and_is_audited(
    client: Client, admin_user: Any
) -> None:
    response = client.post(
        f"{reverse('account_login')}?next=/users/",
        {"login": admin_user.username, "password": PASSWORD, "next": "/users/"},
    )
    assert response.status_code == 302 and response["Location"] == "/users/"
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_id=admin_user.pk).exists()


def test_a_page_sends_an_anonymous_visitor_to_sign_in_with_next(client: Client) -> None:
    response = client.get(reverse("keyvault:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/"


def test_sign_out_asks_on_get_and_signs_out_on_post(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    asked = client.get(reverse("account_logout"))
    assert asked.status_code == 200 and b"Sign out of keyvault" in asked.content
    assert client.get(reverse("keyvault:dashboard")).status_code == 200
    signed_out = client.post(reverse("account_logout"))
    assert signed_out.status_code == 302 and signed_out["Location"] == reverse("account_login")
    assert client.get(reverse("keyvault:dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor_id=admin_user.pk).exists()
