"""Project URL configuration.

The vault, rotation, audit and accounts rooms share the ``keyvault`` namespace (one app, one set of
names); the reminder channels have their own (``alerts``).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from alerts.health import healthz
from keyvault.accounts import urls as accounts_urls
from keyvault.accounts.forms import LoginForm
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
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),  # public: no login, no secrets
    path("metrics", metrics, name="metrics"),  # bearer token: KEYVAULT_METRICS_TOKEN
    path("", include((keyvault_patterns, "keyvault"))),
    path("channels/", include("alerts.urls")),
    path("api/", include((api_urls.urlpatterns, "api"))),
]
