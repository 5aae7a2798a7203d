"""keyvault's django-allauth adapters: registration is closed; second factors are encrypted.

People get an account from an invitation (the users page) or ``manage.py create_user``; nobody
signs themselves up. allauth asks ``is_open_for_signup`` before every signup, so this adapter is
the one place that says no.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from keyvault.accounts import mfa_secrets

#: The sign-in form's answer to a password while ``KEYVAULT_PASSWORD_LOGIN`` is off.
SIGN_IN_WITH_PROVIDER_ONLY = "Password sign-in is off here: sign in through your identity provider."


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Never: accounts are invited or created from the shell."""
        return False

    def get_logout_redirect_url(self, request: HttpRequest) -> str:
        """The identity provider's sign-out for a user who signed in through it in this
        session (``keyvault.accounts.sso_logout``), else the sign-in page."""
        from keyvault.accounts.sso_logout import end_session_url

        return end_session_url(request) or super().get_logout_redirect_url(request)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Refuse every password, before it is checked, while password sign-in is off
        (``KEYVAULT_PASSWORD_LOGIN=0``)."""
        if not settings.KEYVAULT_PASSWORD_LOGIN:
            raise ValidationError(SIGN_IN_WITH_PROVIDER_ONLY, code="password_login_off")
        super().pre_authenticate(request, **credentials)

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth's rule (the password again before a second factor is changed), except within
        ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` of signing in with the password: that sign-in is
        as fresh a confirmation as the re-entry would be (allauth counts only re-entries, so an
        admin sent to enrol straight after signing in would type the password twice)."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        return not signed_in_recently(context.request)


def signed_in_recently(request: HttpRequest) -> bool:
    """True when this session's user gave keyvault their password or second factor (signing
    in or since) less than ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds ago."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    times = [r.get("at", 0) for r in records if r.get("method") in ("password", "mfa")]
    return bool(times) and time.time() - max(times) < account_settings.REAUTHENTICATION_TIMEOUT


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username django-axes counts a sign-in attempt against.

    allauth authenticates with ``username=`` (counted from the credentials) but posts its form
    field as ``login``, which is where axes looks when it only has the request.
    """
    if credentials:
        return credentials.get("username")
    data = getattr(request, "data", request.POST)
    return data.get("login") or data.get("username")


class MFAAdapter(DefaultMFAAdapter):
    """allauth.mfa with keyvault's key ring: the TOTP key and the recovery-code seed are stored
    AES-GCM encrypted (allauth's default stores them as they are)."""

    def encrypt(self, text: str) -> str:
        return mfa_secrets.seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_secrets.unseal(encrypted_text)

    def can_delete_authenticator(self, authenticator: Any) -> bool:
        """Not the last authenticator app or security key of a user whose role requires a
        second factor (an admin resets it instead); another one may go."""
        from keyvault.accounts.mfa import may_remove_factor

        return may_remove_factor(authenticator)

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        """The relying party that security keys are bound to: the host name the page was
        opened at (Django's ``ALLOWED_HOSTS`` vouches for it), under keyvault's name."""
        entity = super().get_public_key_credential_rp_entity()
        return {**entity, "name": settings.MFA_TOTP_ISSUER}
