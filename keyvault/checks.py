"""System checks for cross-setting rules (``manage.py check`` shows them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
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
