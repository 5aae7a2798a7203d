"""Reminder reads for the dashboard and /healthz."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from alerts.models import Reminder, ReminderStatus, ScanHeartbeat
from keyvault.models import CredentialState

#: When this process started: "the scan never ran" only counts as stale once the scheduler had
#: the same grace as a late scan (KEYVAULT_SCAN_STALE_PERIODS periods) to run a first one.
PROCESS_STARTED_AT = timezone.now()


@dataclass(frozen=True)
class ScanHealth:
    """The reminder scheduler's state as the dashboard and /healthz show it."""

    last_scan_at: datetime | None
    age: timedelta | None  # since the last scan; None when it never ran
    max_age: timedelta  # older than this is stale
    stale: bool
    last_queued: int
    failed_count: int  # failed reminders of credentials still current

    @property
    def age_minutes(self) -> int | None:
        return None if self.age is None else int(self.age.total_seconds() // 60)


def scan_max_age() -> timedelta:
    """How old the last scan may be before the scheduler counts as stopped."""
    return timedelta(
        seconds=settings.KEYVAULT_SCAN_INTERVAL_SECONDS * settings.KEYVAULT_SCAN_STALE_PERIODS
    )


def scan_health(*, now: datetime, started_at: datetime | None = None) -> ScanHealth:
    """Last scan time and age, whether it is stale, and how many reminders failed.

    Stale when the last scan is older than ``KEYVAULT_SCAN_STALE_PERIODS`` scan periods, or
    when no scan ever ran and this process started (``started_at``, default: the process's
    start) longer ago than that. Two queries.
    """
    started_at = PROCESS_STARTED_AT if started_at is None else started_at
    max_age = scan_max_age()
    heartbeat = ScanHeartbeat.objects.filter(pk=1).first()
    last = heartbeat.last_scan_at if heartbeat is not None else None
    if last is None:
        age = None
        stale = now - started_at > max_age
    else:
        age = max(now - last, timedelta(0))
        stale = age > max_age
    return ScanHealth(
        last_scan_at=last,
        age=age,
        max_age=max_age,
        stale=stale,
        last_queued=heartbeat.last_queued if heartbeat is not None else 0,
        failed_count=reminders_failed_count(),
    )


def reminders_failed_count() -> int:
    """Failed reminders that still matter: their credential is still the current one.

    Once the credential is rotated or revoked, its failed reminders are history (visible on
    the channel page and in the audit log) rather than something to act on.
    """
    return Reminder.objects.filter(
        status=ReminderStatus.FAILED, credential__state=CredentialState.CURRENT
    ).count()
