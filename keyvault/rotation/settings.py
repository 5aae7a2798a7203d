"""Settings of the rotation room, imported by ``keyvault.settings``.

``KEYVAULT_IDP_REMINDER_HOUR`` (0 to 23, local ``TIME_ZONE``, default 9): the "identity provider
not updated" reminder (``keyvault.rotation.idp``) goes out from this hour on, the day after a
rotation answered "not yet". Beat looks hourly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_HOUR = environ.Env().int("KEYVAULT_IDP_REMINDER_HOUR", default=9)
if not 0 <= _HOUR <= 23:
    raise ImproperlyConfigured(f"KEYVAULT_IDP_REMINDER_HOUR must be 0 to 23, not {_HOUR}.")

DJANGO_SETTINGS: dict[str, Any] = {"KEYVAULT_IDP_REMINDER_HOUR": _HOUR}

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "keyvault-idp-reminders": {
        "task": "keyvault.tasks.remind_idp_not_updated",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
}
