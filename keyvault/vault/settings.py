"""Settings of the vault room, imported by ``keyvault.settings``.

``KEYVAULT_EXPIRY_CONFIRM_HOUR`` (0 to 23, local ``TIME_ZONE``, default 9): the weekly "confirm
the expiry date" reminder of keys saved with "expiry unknown" (``keyvault.vault.unconfirmed``)
goes out from this hour on, once per ISO week. Beat looks hourly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_HOUR = environ.Env().int("KEYVAULT_EXPIRY_CONFIRM_HOUR", default=9)
if not 0 <= _HOUR <= 23:
    raise ImproperlyConfigured(f"KEYVAULT_EXPIRY_CONFIRM_HOUR must be 0 to 23, not {_HOUR}.")

DJANGO_SETTINGS: dict[str, Any] = {"KEYVAULT_EXPIRY_CONFIRM_HOUR": _HOUR}

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "keyvault-expiry-confirm-reminders": {
        "task": "keyvault.tasks.remind_expiry_unconfirmed",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
}
