"""Project URL configuration.

The vault, rotation, audit and accounts rooms share the ``keyvault`` namespace (one app, one set of
names); the reminder channels have their own (``alerts``).

Sign-in and the second factor are django-allauth's, under allauth's URL names (``account_login``,
``account_logout``, ``mfa_*``; see ``keyvault.accounts.signin_urls``). SSO adds the
``openid_connect`` provider's login and callback (``/accounts/oidc/sso/login/callback/`` is the
redirect URI; keyvault's own view, see ``keyvault.accounts.sso_logout``) and the page of a
sign-in cancelled at the provider.
"""

from __future__ import annotations

from allauth.socialaccount import views as socialaccount_views
from django.urls import include, path

from alerts.health import healthz
from keyvault.accounts import signin_urls, sso_logout
from keyvault.accounts import urls as accounts_urls
from keyvault.api import urls as api_urls
from keyvault.audit import urls as audit_urls
from keyvault.feeds import urls as feeds_urls
from keyvault.feeds.views import metrics
from keyvault.inventory import urls as inventory_urls
from keyvault.rotation import urls as rotation_urls
from keyvault.vault import urls as vault_urls

keyvault_patterns = [
    *vault_urls.urlpatterns,
    *rotation_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *accounts_urls.urlpatterns,
    *feeds_urls.urlpatterns,
    *inventory_urls.urlpatterns,
    *api_urls.page_urlpatterns,
]

urlpatterns = [
    *signin_urls.urlpatterns,
    # allauth's provider callback, with an adapter that keeps what signing out there needs.
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        sso_logout.callback,
        name="openid_connect_callback",
    ),
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path(
        "accounts/3rdparty/login/cancelled/",
        socialaccount_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("healthz", healthz, name="healthz"),  # public: no login, no secrets
    path("metrics", metrics, name="metrics"),  # bearer token: KEYVAULT_METRICS_TOKEN
    path("", include((keyvault_patterns, "keyvault"))),
    path("channels/", include("alerts.urls")),
    path("api/", include((api_urls.urlpatterns, "api"))),
]
