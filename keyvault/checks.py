"""System checks for cross-setting rules (``manage.py check`` shows them)."""

from __future__ import annotations

import ssl
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from keyvault.crypto import cipher, signing


@register()
def encryption_keys_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    try:
        cipher.KeyRing.parse(settings.KEYVAULT_ENCRYPTION_KEYS)
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="keyvault.E001"))
    try:
        cipher.fingerprint("check")
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="keyvault.E002"))
    if not settings.SITE_URL.startswith(("http://", "https://")):
        errors.append(Error("SITE_URL must start with http:// or https://", id="keyvault.E003"))
    try:
        signing.signing_key(settings.KEYVAULT_AUDIT_SIGNING_KEY)
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="keyvault.E004"))
    return errors


@register()
def live_check_settings_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Live checks: an extra CA file must be readable PEM; calling 127.0.0.1 is for labs."""
    messages: list[CheckMessage] = []
    ca_file = settings.KEYVAULT_CHECK_CA_FILE
    if ca_file:
        try:
            ssl.create_default_context().load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            messages.append(
                Error(
                    f"KEYVAULT_CHECK_CA_FILE cannot be read as PEM certificates ({exc})",
                    id="keyvault.E010",
                )
            )
    if settings.KEYVAULT_CHECK_ALLOW_LOOPBACK and not settings.DEBUG:
        messages.append(
            Warning(
                "KEYVAULT_CHECK_ALLOW_LOOPBACK is on: live checks may call https://127.0.0.1 "
                "on this host. Turn it off outside tests and labs.",
                id="keyvault.W010",
            )
        )
    return messages


@register()
def sso_settings_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """SSO: with password sign-in off someone must be able to sign in through the provider."""
    messages: list[CheckMessage] = []
    sso = bool(settings.KEYVAULT_OIDC_ISSUER)
    if not settings.KEYVAULT_PASSWORD_LOGIN and not sso:
        messages.append(
            Error(
                "KEYVAULT_PASSWORD_LOGIN is off and KEYVAULT_OIDC_ISSUER is not set: nobody "
                "could sign in. Configure SSO or turn password sign-in back on.",
                id="keyvault.E020",
            )
        )
    if sso and not (settings.KEYVAULT_OIDC_ADMIN_GROUPS or settings.KEYVAULT_OIDC_AUDITOR_GROUPS):
        messages.append(
            Warning(
                "KEYVAULT_OIDC_ISSUER is set but neither KEYVAULT_OIDC_ADMIN_GROUPS nor "
                "KEYVAULT_OIDC_AUDITOR_GROUPS is: every SSO sign-in will be refused.",
                id="keyvault.W020",
            )
        )
    return messages
