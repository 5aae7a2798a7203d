"""Reminder reads: the scheduler's health (dashboard, /healthz) and the channel pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Max, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from alerts.models import Channel, Reminder, ReminderStatus, ScanHeartbeat
from keyvault.models import CredentialState, Integration
from keyvault.vault.expiry import threshold_phrase

RECENT_FAILURES = 20

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


# --- channels ----------------------------------------------------------------------------------


def channel_get(*, channel_id: uuid.UUID) -> Channel:
    """The channel with this id; 404 when unknown."""
    return get_object_or_404(Channel, pk=channel_id)


def channel_integrations(*, channel: Channel) -> QuerySet[Integration]:
    """The integrations a channel is linked to, by name."""
    return channel.integrations.order_by("name")


def channel_list() -> QuerySet[Channel]:
    """Every channel with ``integration_count``, ``failed_count`` and ``last_sent_at``."""
    return Channel.objects.annotate(
        integration_count=Count("integrations", distinct=True),
        failed_count=Count(
            "reminders", filter=Q(reminders__status=ReminderStatus.FAILED), distinct=True
        ),
        last_sent_at=Max("reminders__sent_at"),
    ).order_by("-is_default", "name")


def channel_failed_reminders(*, channel: Channel, limit: int = RECENT_FAILURES) -> list[Reminder]:
    """The channel's most recent failed reminders, with their credential and integration."""
    reminders = list(
        Reminder.objects.filter(channel=channel, status=ReminderStatus.FAILED)
        .select_related("credential__integration")
        .order_by(F("claimed_at").desc(nulls_last=True), "-created_at")[:limit]
    )
    for reminder in reminders:
        reminder.threshold_label = threshold_phrase(reminder.threshold)  # type: ignore[attr-defined]
    return reminders


def channel_open_reminders(*, channel: Channel) -> int:
    """How many of the channel's reminders are still owed (pending or being sent)."""
    return channel.reminders.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]
    ).count()
