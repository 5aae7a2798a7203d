"""Signing out of the identity provider too (OpenID Connect RP-Initiated Logout 1.0): a user who
signed in through SSO in this session is sent, on **Sign out**, to the provider's
``end_session_endpoint`` with ``id_token_hint`` and ``post_logout_redirect_uri`` (keyvault's
sign-in page, from ``SITE_URL``), so the next **Sign in with …** asks the provider again.

allauth's ``openid_connect`` provider does not do this (its ``end_session`` support is for
allauth acting as a provider), and keeps only the ID token's claims. So the callback runs with
``SsoOAuth2Adapter``, which also notes the raw ID token and the endpoint from the discovery
document it has just read; the SSO adapter keeps them in the session once the sign-in is let
through, and the account adapter's logout redirect reads them (no request to the provider at
sign-out). A provider without ``end_session_endpoint``, or with one outside the issuer's origin
(which the CSP ``form-action`` would block after the Sign out form), keeps today's sign-out.
The ID token leaves keyvault only in that redirect's URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from keyvault.accounts.sso_settings import PROVIDER_ID, csp_form_action

#: Where a sign-in through SSO keeps what signing out at the provider needs.
SESSION_KEY = "keyvault_sso_end_session"
#: The attribute of allauth's ``SocialLogin`` that carries it from the callback to the adapter.
_NOTE = "keyvault_end_session"


class SsoOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect adapter, noting on the sign-in the provider's
    ``end_session_endpoint`` and the raw ID token (when the provider has both)."""

    def complete_login(self, request: HttpRequest, app: Any, token: Any, **kwargs: Any) -> Any:
        sociallogin = super().complete_login(request, app, token, **kwargs)
        endpoint = self.openid_config.get("end_session_endpoint")
        id_token = kwargs["response"].get("id_token")
        if isinstance(endpoint, str) and isinstance(id_token, str) and id_token:
            setattr(sociallogin, _NOTE, {"endpoint": endpoint, "id_token": id_token})
        return sociallogin


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's ``openid_connect_callback`` view, run with ``SsoOAuth2Adapter``."""
    try:
        view = OAuth2CallbackView.adapter_view(SsoOAuth2Adapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    return response


def _allowed_after_a_form(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.scheme in ("https", "http") and origin in csp_form_action(
        settings.KEYVAULT_OIDC_ISSUER
    )


def end_session_keep(request: HttpRequest, sociallogin: SocialLogin) -> None:
    """Keep in the session what signing this SSO sign-in out at the provider needs, or forget
    an earlier sign-in's when the provider offers no usable ``end_session_endpoint``. Called
    by the SSO adapter once the sign-in is let through."""
    note = getattr(sociallogin, _NOTE, None)
    if note and _allowed_after_a_form(note["endpoint"]):
        request.session[SESSION_KEY] = {**note, "uid": sociallogin.account.uid}
    else:
        request.session.pop(SESSION_KEY, None)


def end_session_url(request: HttpRequest) -> str | None:
    """The provider's sign-out address for this session (``id_token_hint``,
    ``post_logout_redirect_uri``), or None when its user did not sign in through SSO in this
    session (a password sign-in) or the provider offers none."""
    kept = request.session.get(SESSION_KEY)
    if not settings.KEYVAULT_OIDC_ISSUER or not isinstance(kept, dict):
        return None
    records = get_authentication_records(request, getattr(request, "user", None))
    signed_in_through_sso = any(
        record.get("method") == "socialaccount"
        and record.get("provider") == PROVIDER_ID
        and record.get("uid") == kept.get("uid")
        for record in records
    )
    if not signed_in_through_sso:
        return None
    query = urlencode(
        {
            "id_token_hint": kept["id_token"],
            "post_logout_redirect_uri": settings.SITE_URL + reverse("account_login"),
        }
    )
    endpoint = str(kept["endpoint"])
    return f"{endpoint}{'&' if urlsplit(endpoint).query else '?'}{query}"
