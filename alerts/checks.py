"""System checks for the reminder settings (``manage.py check`` shows them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ValidationError

from keyvault.vault.validation import thresholds_parse


@register()
def reminder_settings_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    try:
        thresholds_parse(settings.KEYVAULT_REMINDER_THRESHOLDS)
    except ValidationError as exc:
        errors.append(
            Error(f"KEYVAULT_REMINDER_THRESHOLDS: {' '.join(exc.messages)}", id="alerts.E001")
        )
    if settings.KEYVAULT_SCAN_INTERVAL_SECONDS < 1:
        errors.append(Error("KEYVAULT_SCAN_INTERVAL_SECONDS must be at least 1", id="alerts.E002"))
    if settings.KEYVAULT_REMINDER_MAX_ATTEMPTS < 1:
        errors.append(Error("KEYVAULT_REMINDER_MAX_ATTEMPTS must be at least 1", id="alerts.E003"))
    if settings.KEYVAULT_REMINDER_REQUEUE_SECONDS < settings.KEYVAULT_SCAN_INTERVAL_SECONDS:
        # Shorter than a scan period, every scan would hand every waiting reminder over again.
        errors.append(
            Error(
                "KEYVAULT_REMINDER_REQUEUE_SECONDS must be at least KEYVAULT_SCAN_INTERVAL_SECONDS",
                id="alerts.E005",
            )
        )
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    longest = (
        settings.KEYVAULT_REMINDER_RETRY_MAX_SECONDS
        + settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS
    )
    if visibility is not None and visibility <= longest:
        # Redis would hand a retry still waiting for its countdown to a second worker.
        errors.append(
            Error(
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) must be longer than the longest "
                f"retry countdown plus the claim timeout ({longest:.0f} s)",
                id="alerts.E004",
            )
        )
    return errors
