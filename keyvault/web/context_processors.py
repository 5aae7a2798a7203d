from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from keyvault.accounts import sso_settings
from keyvault.web.roles import is_admin, is_viewer


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"is_admin": is_admin(user), "is_viewer": is_viewer(user)}


def sso(request: HttpRequest) -> dict[str, Any]:
    """The sign-in choices: the identity provider's button label (when SSO is configured) and
    whether password sign-in is on."""
    configured = bool(settings.KEYVAULT_OIDC_ISSUER)
    return {
        "sso_name": settings.KEYVAULT_OIDC_NAME if configured else "",
        "sso_login_url": reverse(
            "openid_connect_login", kwargs={"provider_id": sso_settings.PROVIDER_ID}
        )
        if configured
        else "",
        "password_login": settings.KEYVAULT_PASSWORD_LOGIN,
    }
