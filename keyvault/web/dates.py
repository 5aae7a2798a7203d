"""The one way keyvault writes dates and times, on pages, in messages and in audit sentences.

A day reads “8 Mar 2026”; a moment reads “8 Mar 2026, 09:00”, in ``TIME_ZONE``. Messages that
leave the site add the zone's abbreviation (“8 Mar 2026, 09:00 CET”) because the reader may be
elsewhere. Machine-readable values (``datetime`` attributes, exports, audit details) stay ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import dateformat, timezone

DAY_FORMAT = "j M Y"
MOMENT_FORMAT = "j M Y, H:i"
#: The audit log tells apart events of the same minute.
PRECISE_MOMENT_FORMAT = "j M Y, H:i:s"


def _local(value: datetime) -> datetime:
    return timezone.localtime(value, timezone.get_default_timezone())


def day_text(value: date | datetime) -> str:
    """``value``'s local date: “8 Mar 2026”."""
    if isinstance(value, datetime):
        value = _local(value).date() if timezone.is_aware(value) else value.date()
    return dateformat.format(value, DAY_FORMAT)


def moment_text(value: datetime, *, zone: bool = False, seconds: bool = False) -> str:
    """``value`` in local time: “8 Mar 2026, 09:00”; with ``zone``, “8 Mar 2026, 09:00 UTC”;
    with ``seconds``, “8 Mar 2026, 09:00:05”."""
    local = _local(value) if timezone.is_aware(value) else value
    fmt = PRECISE_MOMENT_FORMAT if seconds else MOMENT_FORMAT
    return dateformat.format(local, fmt + " T" if zone else fmt)
