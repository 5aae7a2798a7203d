"""Who is owed which reminder: the scan's choice, per (credential, channel), of the outbox
rows to insert.

A channel receives reminders about an integration when it is a default channel or linked to
it, when it has somebody to write to (an owners' email channel needs the integration's owner
address), and only for the thresholds its escalation allows (``Channel.escalate_from_days``,
``alerts.policy.channel_thresholds``): the audience widens as the expiry date nears. Out of the
box the owners' channel receives every threshold; see the README for the suggested audiences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from itertools import chain
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, Min, OuterRef

from alerts import policy
from alerts.models import (
    AudienceOverride,
    Channel,
    ChannelKind,
    Reminder,
    ReminderPlan,
    ReminderStatus,
    Weekday,
)
from alerts.outbox import NewReminders, outbox_insert, plans_record
from keyvault.models import Credential, Integration
from keyvault.vault.selectors import tracked_q


def reminders_record_owed(*, now: datetime, tz: tzinfo) -> tuple[int, int, int]:
    """Insert the rows owed at ``now``, each channel only the thresholds of its audience;
    returns (pending created, skipped created, candidates). A fixed number of queries."""
    default = tuple(settings.KEYVAULT_REMINDER_THRESHOLDS)
    overrides = {
        raw: policy.thresholds_for(override=raw, default=default)
        for raw in Integration.objects.exclude(reminder_thresholds="")
        .order_by()
        .values_list("reminder_thresholds", flat=True)
        .distinct()
    }
    horizon = now + timedelta(days=policy.window_days(chain(default, *overrides.values())))
    config = plan_config(default=default, tz=tz)
    # Served by the partial index on current credentials' expiry; a credential whose plan
    # says nothing can be owed before a later moment is skipped.
    planned = ReminderPlan.objects.filter(
        credential_id=OuterRef("pk"),
        expires_at=OuterRef("expires_at"),
        config=config,
        next_at__gt=now,
    )
    # Archived integrations are owed nothing (``tracked_q``).
    candidates = Credential.objects.filter(tracked_q(), expires_at__lte=horizon).exclude(
        Exists(planned)
    )
    rows = list(
        candidates.values_list(
            "id",
            "expires_at",
            "integration_id",
            "integration__reminder_thresholds",
            "integration__owner_email",
        )
    )
    if not rows:  # the steady state: nothing can be owed before the plans say so
        return 0, 0, 0
    channels = list(
        Channel.objects.only(
            "id", "kind", "is_default", "email_recipients", "email_to_owner", "escalate_from_days"
        )
    )
    escalation = audience_overrides(integration_ids=candidates.values("integration_id"))
    linked: dict[UUID, set[UUID]] = defaultdict(set)
    for integration_id, channel_id in Channel.integrations.through.objects.filter(
        integration_id__in=candidates.values("integration_id")
    ).values_list("integration_id", "channel_id"):
        linked[integration_id].add(channel_id)
    recorded = {
        (credential_id, channel_id): last
        for credential_id, channel_id, last in Reminder.objects.filter(
            credential_id__in=candidates.values("id")
        )
        .values_list("credential_id", "channel_id")
        .annotate(last=Min("threshold"))
    }
    owed: list[NewReminders] = []
    # When a threshold is crossed depends on the local expiry day only: computed once per
    # (day, threshold), not once per row (a credential weeks overdue owes a dozen rows).
    crossed_at: dict[date, dict[int, datetime]] = defaultdict(dict)
    # Each channel's share of each distinct threshold list, computed once.
    audience: dict[tuple[tuple[int, ...], int | None], tuple[int, ...]] = {}
    pending, skipped = ReminderStatus.PENDING, ReminderStatus.SKIPPED
    plans: list[tuple[UUID, datetime, datetime]] = []
    for credential_id, expires_at, integration_id, override, owner_email in rows:
        integration_thresholds = overrides.get(override, default)
        plans.append(
            (
                credential_id,
                expires_at,
                policy.next_crossing_at(
                    expires_at=expires_at, now=now, thresholds=integration_thresholds, tz=tz
                ),
            )
        )
        day_crossed_at = crossed_at[expires_at.astimezone(tz).date()]
        for channel in channels:
            if not (channel.is_default or channel.pk in linked[integration_id]):
                continue
            if not channel_has_recipient(channel, owner_email=owner_email):
                continue
            escalate_from = escalation.get((integration_id, channel.pk), channel.escalate_from_days)
            key = (integration_thresholds, escalate_from)
            thresholds = audience.get(key)
            if thresholds is None:
                thresholds = audience[key] = policy.channel_thresholds(
                    thresholds=integration_thresholds, escalate_from=escalate_from
                )
            plan = policy.reminder_plan(
                expires_at=expires_at,
                now=now,
                thresholds=thresholds,
                last_recorded=recorded.get((credential_id, channel.pk)),
                tz=tz,
            )
            if plan.send is None:
                continue
            pair_rows = []
            for threshold in plan.thresholds:
                due_at = day_crossed_at.get(threshold)
                if due_at is None:
                    due_at = day_crossed_at[threshold] = policy.threshold_crossed_at(
                        expires_at=expires_at, threshold=threshold, tz=tz
                    )
                pair_rows.append(
                    (threshold, pending if threshold == plan.send else skipped, due_at)
                )
            owed.append(
                NewReminders(credential_id=credential_id, channel_id=channel.pk, rows=pair_rows)
            )
    inserted = outbox_insert(owed, now=now)
    plans_record(plans, config=config)
    return inserted[ReminderStatus.PENDING], inserted[ReminderStatus.SKIPPED], len(rows)


def audience_overrides(*, integration_ids: Any) -> dict[tuple[UUID, UUID], int | None]:
    """{(integration, channel): escalate from} of the integrations' own audience settings
    (``AudienceOverride``), for the integrations ``integration_ids`` (ids or a subquery)."""
    return {
        (integration_id, channel_id): days
        for integration_id, channel_id, days in AudienceOverride.objects.filter(
            integration_id__in=integration_ids
        ).values_list("integration_id", "channel_id", "escalate_from_days")
    }


def plan_config(*, default: Sequence[int], tz: tzinfo) -> str:
    """What a ``ReminderPlan`` depends on besides its credential and integration: the time
    zone and the default thresholds (changed only by a restart with new settings)."""
    return f"{tz}|{','.join(str(t) for t in sorted(set(default), reverse=True))}"


def reminder_plans_forget(*, integration_id: UUID | None = None) -> int:
    """Forget the plans of ``integration_id``'s credentials (every plan when None), so the
    next scan looks at them again: call it in the transaction of a change that can make a
    reminder due sooner. Returns how many were forgotten."""
    plans = ReminderPlan.objects.all()
    if integration_id is not None:
        plans = plans.filter(credential__integration_id=integration_id)
    deleted, _ = plans.delete()
    return deleted


def channel_has_recipient(channel: Channel, *, owner_email: str) -> bool:
    """False for an email channel with nobody to write to about this integration: the
    built-in "owners" channel and an integration without an owner address is an expected
    combination, not a failure to show on the dashboard."""
    if channel.kind != ChannelKind.EMAIL:
        return True
    return bool(channel.email_recipients.strip() or (channel.email_to_owner and owner_email))


#: Largest "escalate from" a channel may have: ten years before expiry.
MAX_ESCALATE_FROM_DAYS = 3650


def channel_schedule_errors(
    *,
    kind: str,
    escalate_from_days: int | None,
    digest_weekday: int | None,
    digest_hour: int,
    recipients: str | None,
) -> dict[str, list[ValidationError]]:
    """Problems with a channel's escalation and digest settings, keyed by form field: days in
    range, a real weekday and hour, and a digest only where it has somebody to go to (an email
    channel needs ``recipients`` of its own: a digest covers many integrations, so no single
    owner's address applies). ``recipients`` is None when not an email channel or not valid."""
    errors: dict[str, list[ValidationError]] = {}
    if escalate_from_days is not None and not 0 <= escalate_from_days <= MAX_ESCALATE_FROM_DAYS:
        errors["escalate_from_days"] = [
            ValidationError(
                f"Give a number of days from 0 to {MAX_ESCALATE_FROM_DAYS}, or leave it empty.",
                code="invalid",
            )
        ]
    if digest_weekday is not None and digest_weekday not in Weekday.values:
        errors["digest_weekday"] = [ValidationError("Choose a day of the week.", code="invalid")]
    if not 0 <= digest_hour <= 23:
        errors["digest_hour"] = [ValidationError("Choose an hour from 0 to 23.", code="invalid")]
    if digest_weekday is not None and kind == ChannelKind.EMAIL and recipients == "":
        errors["digest_weekday"] = [
            ValidationError(
                "A weekly digest goes to the channel's own addresses: add at least one.",
                code="no_recipients",
            )
        ]
    return errors


def channel_schedule(channel: Channel) -> dict[str, Any]:
    """Audit-safe description of which reminders and which digest ``channel`` receives."""
    return {
        "escalate_from_days": channel.escalate_from_days,
        "digest_weekday": channel.digest_weekday,
        "digest_hour": channel.digest_hour,
    }
