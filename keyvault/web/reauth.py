"""Re-authentication before a sensitive action (a reveal): re-entering one's password, or,
for a user who signs in through the identity provider, signing in there again.

The password is checked against the signed-in user's own hash, not through ``authenticate``:
a wrong one is not a failed sign-in, so it neither feeds django-axes (which would lock the
user out of sign-in) nor sends ``user_login_failed``. Guessing is throttled by keyvault's own
reveal limit (``keyvault.accounts.throttle``), counted from the refusals the caller audits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from keyvault.accounts import sso_settings


@sensitive_variables("password")
def password_confirm(request: HttpRequest, *, password: str) -> bool:
    """True when ``password`` is the signed-in user's own (and the account is active)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.check_password(password))


# --- Re-authentication through the identity provider (SSO users) ---------------------------

#: Where a finished provider re-authentication waits for the page that asked for it.
SSO_REAUTH_SESSION_KEY = "keyvault_sso_reauth"
#: How much earlier than the request the provider's ``auth_time`` may be: the provider's clock
#: and ours may disagree by a few seconds; a sign-in remembered from before is minutes older.
SSO_AUTH_TIME_LEEWAY = timedelta(seconds=30)


@dataclass(frozen=True)
class SsoReauth:
    """A provider re-authentication that came back: for what, when it was asked for, and the
    ID token's ``auth_time`` (None when the provider sent none)."""

    purpose: str
    requested_at: datetime
    auth_time: datetime | None

    @property
    def fresh(self) -> bool:
        return sso_auth_time_fresh(auth_time=self.auth_time, requested_at=self.requested_at)


def sso_auth_time_fresh(*, auth_time: datetime | None, requested_at: datetime) -> bool:
    """True when the user signed in at the provider after the re-authentication was asked for
    (within ``SSO_AUTH_TIME_LEEWAY``); False without ``auth_time``."""
    return auth_time is not None and auth_time >= requested_at - SSO_AUTH_TIME_LEEWAY


def sso_linked(user: Any) -> bool:
    """True when ``user`` signs in through the configured identity provider."""
    if not settings.KEYVAULT_OIDC_ISSUER or not user.is_authenticated:
        return False
    from allauth.socialaccount.models import SocialAccount

    return SocialAccount.objects.filter(user=user, provider=sso_settings.PROVIDER_ID).exists()


def sso_reauth_redirect(
    request: HttpRequest, *, purpose: str, next_url: str, now: datetime
) -> HttpResponse:
    """Send the browser to the identity provider to sign in again (``prompt=login``,
    ``max_age=0``); it comes back through allauth's callback (``SsoAdapter`` records the
    answer) to ``next_url``, where ``sso_reauth_take(purpose=...)`` reads it."""
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.providers.base import AuthProcess

    request.session.pop(SSO_REAUTH_SESSION_KEY, None)
    provider = get_adapter().get_provider(request, sso_settings.PROVIDER_ID)
    response: HttpResponse = provider.redirect(
        request,
        AuthProcess.REDIRECT,
        next_url=next_url,
        data={"purpose": purpose, "requested_at": now.timestamp()},
        auth_params={"prompt": "login", "max_age": "0"},
    )
    return response


def sso_reauth_record(request: HttpRequest, *, sociallogin: Any) -> None:
    """Keep what the provider answered to ``sso_reauth_redirect`` (its ID token's
    ``auth_time``) for the page it returns to. Called by the SSO adapter once the identity is
    known to be the signed-in user's."""
    data = sociallogin.state.get("data") or {}
    id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
    auth_time = id_token.get("auth_time")
    request.session[SSO_REAUTH_SESSION_KEY] = {
        "purpose": str(data.get("purpose", "")),
        "requested_at": float(data.get("requested_at", 0)),
        "auth_time": auth_time if isinstance(auth_time, int | float) else None,
    }


def sso_reauth_take(request: HttpRequest, *, purpose: str) -> SsoReauth | None:
    """The provider re-authentication that came back for ``purpose``, once (it is removed from
    the session); None when there is none."""
    stored = request.session.get(SSO_REAUTH_SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        return None
    del request.session[SSO_REAUTH_SESSION_KEY]
    auth_time = stored.get("auth_time")
    return SsoReauth(
        purpose=purpose,
        requested_at=datetime.fromtimestamp(stored["requested_at"], tz=UTC),
        auth_time=None if auth_time is None else datetime.fromtimestamp(auth_time, tz=UTC),
    )
