"""django-allauth's pages that keyvault offers, under allauth's own URL names (its views and
redirects reverse them). Everything else of allauth is left out on purpose: no signup
(registration is closed), no password reset, no email management. Every name here needs a row
in ``tests/keyvault/test_role_matrix.py``.

Pages that take or show a second factor's secret (a code, the TOTP key, recovery codes) are
never cached and keep the code out of error reports. A security key's pages carry a one-time
challenge: never cached either. allauth's page for renaming a key is left out (a rename has no
signal to audit); a key is named when it is added.
"""

from __future__ import annotations

from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from allauth.mfa.recovery_codes import views as recovery_views
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.generic import RedirectView

from keyvault.accounts.mfa import keeps_required_factor
from keyvault.web.secrecy import handles_secrets


def _secret(view):  # type: ignore[no-untyped-def]
    return handles_secrets("code")(never_cache(view))


urlpatterns = [
    path("login/", account_views.login, name="account_login"),
    path("logout/", account_views.logout, name="account_logout"),
    # Password again before a second factor is changed (allauth asks after a few minutes).
    path(
        "accounts/reauthenticate/",
        handles_secrets("password")(account_views.reauthenticate),
        name="account_reauthenticate",
    ),
    # allauth's own MFA overview is the account page here.
    path(
        "accounts/2fa/",
        RedirectView.as_view(pattern_name="keyvault:account"),
        name="mfa_index",
    ),
    path("accounts/2fa/authenticate/", _secret(mfa_views.authenticate), name="mfa_authenticate"),
    path(
        "accounts/2fa/reauthenticate/",
        _secret(mfa_views.reauthenticate),
        name="mfa_reauthenticate",
    ),
    path(
        "accounts/2fa/totp/activate/",
        _secret(totp_views.activate_totp),
        name="mfa_activate_totp",
    ),
    path(
        "accounts/2fa/totp/deactivate/",
        totp_views.deactivate_totp,
        name="mfa_deactivate_totp",
    ),
    path(
        "accounts/2fa/recovery-codes/",
        _secret(recovery_views.view_recovery_codes),
        name="mfa_view_recovery_codes",
    ),
    path(
        "accounts/2fa/recovery-codes/generate/",
        recovery_views.generate_recovery_codes,
        name="mfa_generate_recovery_codes",
    ),
    path(
        "accounts/2fa/recovery-codes/download/",
        _secret(recovery_views.download_recovery_codes),
        name="mfa_download_recovery_codes",
    ),
    # Security keys and passkeys (WebAuthn): added, listed on the account page, removed, and
    # used to confirm it is you before a second factor is changed.
    path(
        "accounts/2fa/webauthn/",
        RedirectView.as_view(pattern_name="keyvault:account"),
        name="mfa_list_webauthn",
    ),
    path(
        "accounts/2fa/webauthn/add/",
        never_cache(webauthn_views.add_webauthn),
        name="mfa_add_webauthn",
    ),
    path(
        "accounts/2fa/webauthn/reauthenticate/",
        never_cache(webauthn_views.reauthenticate_webauthn),
        name="mfa_reauthenticate_webauthn",
    ),
    path(
        "accounts/2fa/webauthn/keys/<int:pk>/remove/",
        keeps_required_factor(webauthn_views.remove_webauthn),
        name="mfa_remove_webauthn",
    ),
]
