"""Expiry in calendar days of local time: status, days left, local midnight, and the phrases
pages and messages use for them. Pure: no database access, no clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Protocol

from django.db import models
from django.utils import timezone
from django.utils.translation import ngettext


class Status(models.TextChoices):
    OK = "ok", "OK"
    DUE_SOON = "due_soon", "Due soon"
    EXPIRED = "expired", "Expired"
    ROTATED = "rotated", "Superseded"  # the word of CredentialState.SUPERSEDED
    REVOKED = "revoked", "Revoked"
    MISSING = "missing", "No credential"


class Urgency(models.TextChoices):
    """How soon a credential needs someone: the colour of its dashboard row, always said in
    words too (the status badge, the counts strip)."""

    RED = "red", "Urgent"
    AMBER = "amber", "Soon"
    GREEN = "green", "Not urgent"
    NONE = "none", "No current key"  # superseded, revoked or missing: nothing to rotate


#: Red from this many calendar days left (and once expired, or rejected by the vendor).
URGENT_DAYS = 7


class _HasExpiry(Protocol):
    state: str
    expires_at: datetime


class _HasCheck(_HasExpiry, Protocol):
    check_status: str


def local_midnight(day: date, tz: tzinfo | None = None) -> datetime:
    """The first instant of ``day`` in ``tz`` (default: the current time zone), aware.

    A few zones switch to summer time at 00:00, so that day has no midnight: zoneinfo reads the
    missing time with the offset from before the switch, and normalising through UTC turns it
    into the day's first real instant (01:00 local).
    """
    tz = tz or timezone.get_current_timezone()
    return datetime.combine(day, time.min).replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def days_left(expires_at: datetime, *, now: datetime, tz: tzinfo | None = None) -> int:
    """Whole calendar days from ``now`` to ``expires_at`` in local time (negative when past)."""
    tz = tz or timezone.get_current_timezone()
    return (expires_at.astimezone(tz).date() - now.astimezone(tz).date()).days


def credential_status(
    credential: _HasExpiry | None, *, now: datetime, due_soon_days: int, tz: tzinfo | None = None
) -> Status:
    """The status a dashboard shows for a credential version at ``now``."""
    from keyvault.models import CredentialState

    if credential is None:
        return Status.MISSING
    if credential.state == CredentialState.REVOKED:
        return Status.REVOKED
    if credential.state == CredentialState.SUPERSEDED:
        return Status.ROTATED
    if credential.expires_at <= now:
        return Status.EXPIRED
    if days_left(credential.expires_at, now=now, tz=tz) <= due_soon_days:
        return Status.DUE_SOON
    return Status.OK


def urgency(
    credential: _HasCheck | None, *, now: datetime, soon_days: int, tz: tzinfo | None = None
) -> Urgency:
    """The urgency of a credential version at ``now``: red when the vendor rejected it at the
    last live check, when it has expired or has ``URGENT_DAYS`` calendar days left or fewer;
    amber up to ``soon_days`` days left; green beyond. Only a current version has one."""
    from keyvault.models import CredentialState
    from keyvault.vault.check_models import CheckStatus

    if credential is None or credential.state != CredentialState.CURRENT:
        return Urgency.NONE
    if credential.check_status == CheckStatus.REJECTED or credential.expires_at <= now:
        return Urgency.RED
    left = days_left(credential.expires_at, now=now, tz=tz)
    if left <= URGENT_DAYS:
        return Urgency.RED
    if left <= soon_days:
        return Urgency.AMBER
    return Urgency.GREEN


def _days(n: int) -> str:
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


def expiry_phrase(*, days: int, expired: bool) -> str:
    """An expiry in words: “expires in 365 days”, “expires today”, “expired 3 days ago”.

    ``days`` are calendar days left (``days_left``); ``expired`` whether the moment has passed
    (a key expiring at 17:00 today has 0 days left either side of it).
    """
    if not expired:
        if days <= 0:
            return "expires today"
        if days == 1:
            return "expires tomorrow"
        return f"expires in {_days(days)}"
    if days >= 0:
        return "expired today"
    if days == -1:
        return "expired yesterday"
    return f"expired {_days(-days)} ago"


def threshold_phrase(threshold: int) -> str:
    """When a reminder is due: “7 days before expiry”, “on the expiry day”, “2 days after
    expiry” (overdue reminders have negative thresholds)."""
    if threshold == 0:
        return "on the expiry day"
    return f"{_days(abs(threshold))} {'before' if threshold > 0 else 'after'} expiry"


def lead_time_phrase(days: int) -> str:
    """How early a rotation came: “7 days early”, “on the day it expires”, “3 days late”."""
    if days > 0:
        return f"{_days(days)} early"
    if days == 0:
        return "on the day it expires"
    return f"{_days(-days)} late"
