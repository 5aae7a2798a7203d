"""Reminder reads: the scheduler's health (dashboard, /healthz) and the channel pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from alerts.models import AudienceOverride, Channel, Reminder, ReminderStatus, ScanHeartbeat
from keyvault.models import AuditAction, AuditEvent, Integration
from keyvault.vault.expiry import threshold_phrase
from keyvault.vault.selectors import tracked_q

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
    return Reminder.objects.filter(tracked_q("credential__"), status=ReminderStatus.FAILED).count()


# --- channels ----------------------------------------------------------------------------------


def channel_get(*, channel_id: uuid.UUID) -> Channel:
    """The channel with this id; 404 when unknown."""
    return get_object_or_404(Channel, pk=channel_id)


def channel_integrations(*, channel: Channel) -> QuerySet[Integration]:
    """The integrations a channel is linked to, by name."""
    return channel.integrations.order_by("name")


def retrying_q(prefix: str = "") -> Q:
    """Rows still owed after at least one failed attempt: transient failures, being retried."""
    return Q(
        **{
            f"{prefix}status": ReminderStatus.PENDING,
            f"{prefix}attempts__gt": 0,
        }
    ) & ~Q(**{f"{prefix}last_error": ""})


def channel_list() -> QuerySet[Channel]:
    """Every channel with ``integration_count``, ``failed_count``, ``retrying_count`` and
    ``last_sent_at``."""
    return Channel.objects.annotate(
        integration_count=Count("integrations", distinct=True),
        failed_count=Count(
            "reminders", filter=Q(reminders__status=ReminderStatus.FAILED), distinct=True
        ),
        retrying_count=Count("reminders", filter=retrying_q("reminders__"), distinct=True),
        last_sent_at=Max("reminders__sent_at"),
    ).order_by("-is_default", "name")


@dataclass(frozen=True)
class LastTest:
    """The channel's last test notification, as its audit event recorded it."""

    at: datetime
    ok: bool
    error: str
    actor: str


@dataclass(frozen=True)
class ChannelHealth:
    last_sent_at: datetime | None
    retrying: int  # reminders owed after a transient failure
    last_test: LastTest | None


def channel_health(*, channel: Channel) -> ChannelHealth:
    """Last delivery, reminders being retried and the last test notification of ``channel``.

    The last test comes from the audit log (``CHANNEL_TESTED``, which records its outcome), so
    it survives reloads and restarts with no column of its own. Three queries.
    """
    reminders = Reminder.objects.filter(channel=channel)
    tested = (
        AuditEvent.objects.filter(
            action=AuditAction.CHANNEL_TESTED, target_type="channel", target_id=str(channel.pk)
        )
        .order_by("-seq")
        .values("created_at", "details", "actor_label")
        .first()
    )
    last_test = None
    if tested is not None:
        details = tested["details"] or {}
        last_test = LastTest(
            at=tested["created_at"],
            ok=bool(details.get("ok")),
            error=str(details.get("error", "")),
            actor=tested["actor_label"],
        )
    return ChannelHealth(
        last_sent_at=reminders.aggregate(last=Max("sent_at"))["last"],
        retrying=reminders.filter(retrying_q()).count(),
        last_test=last_test,
    )


#: A channel failing transiently for longer than this raises the dashboard banner.
FAILING_FOR = timedelta(hours=1)


def channels_failing_transiently(*, now: datetime) -> list[str]:
    """Names of the channels with a reminder that has been owed for over ``FAILING_FOR`` and
    is still being retried after failed attempts (Slack down, a mail server refusing)."""
    return list(
        Channel.objects.filter(
            Exists(
                Reminder.objects.filter(
                    retrying_q(), channel=OuterRef("pk"), created_at__lt=now - FAILING_FOR
                )
            )
        )
        .order_by("name")
        .values_list("name", flat=True)
    )


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


def channel_failed_reminder(*, channel: Channel, reminder_id: int) -> Reminder:
    """One of the channel's reminders, with its integration; 404 when it is not the channel's."""
    return get_object_or_404(
        Reminder.objects.select_related("credential__integration"), pk=reminder_id, channel=channel
    )


def integration_failed_reminder(*, integration_id: uuid.UUID, reminder_id: int) -> Reminder:
    """One of the integration's reminders, with its channel; 404 when it is not the
    integration's."""
    return get_object_or_404(
        Reminder.objects.select_related("channel"),
        pk=reminder_id,
        credential__integration_id=integration_id,
    )


def channel_open_reminders(*, channel: Channel) -> int:
    """How many of the channel's reminders are still owed (pending or being sent)."""
    return channel.reminders.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]
    ).count()


def channel_audience_overrides(*, channel: Channel) -> list[AudienceOverride]:
    """The integrations with an audience of their own on ``channel``, by name."""
    return list(
        AudienceOverride.objects.filter(channel=channel)
        .select_related("integration")
        .order_by("integration__name")
    )


def channel_audience_override(*, channel: Channel, integration_id: uuid.UUID) -> AudienceOverride:
    """One integration's override on ``channel``; raises ``Http404`` when there is none."""
    return get_object_or_404(
        AudienceOverride.objects.select_related("integration"),
        channel=channel,
        integration_id=integration_id,
    )
