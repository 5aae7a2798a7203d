"""Notices: something about a credential that people must act on now, apart from its expiry
date — the vendor rejected the key at a live check, the identity provider was not updated after
a rotation, the expiry date is not confirmed.

A feature raises a notice with ``notices_raise`` inside the transaction of the change that
calls for it; the notice goes to the integration's channels (default ones and those linked to
it, each with somebody to write to) whose escalation covers the notice's urgency
(``NOTICE_URGENCY``: a rejected key is as urgent as the expiry day, so every channel hears of
it). One outbox row per channel, unique on (credential, kind, key, channel): raising the same
occurrence again sends nothing twice. Delivery has the reminders' guarantees (claim with a
conditional UPDATE, send outside any transaction, back off on transient failures, re-open a dead
worker's claim flagged ``possible_duplicate``, audit the outcome); ``reminders_scan`` sweeps the
table with the reminders (``alerts.sweep``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from alerts import policy
from alerts.audiences import audience_overrides, channel_has_recipient
from alerts.delivery import outbox_claim, outbox_enqueue, outbox_send
from alerts.models import Channel, Notice, NoticeKind, ReminderStatus
from alerts.notice_messages import notice_notification
from alerts.outcomes import (
    DeliveryResult,
    Outcome,
    outbox_after_failure,
    outbox_mark_failed,
    outbox_mark_sent,
)
from alerts.sweep import exhausted_message, pending_due, stale_claims, stale_claims_reopen
from keyvault.models import AuditAction, Credential, Integration
from keyvault.vault.selectors import credential_tracked, tracked_q

logger = logging.getLogger(__name__)

#: Days before expiry a notice is as urgent as: it reaches the channels whose escalation
#: covers that threshold. None: the integration's first (most distant) threshold, i.e. the
#: audience of the first reminder.
NOTICE_URGENCY: dict[str, int | None] = {
    NoticeKind.CHECK_REJECTED: 0,
    NoticeKind.IDP_NOT_UPDATED: 0,
    NoticeKind.EXPIRY_UNCONFIRMED: None,
}


def notice_channels(*, integration: Integration, kind: NoticeKind) -> list[Channel]:
    """The channels a notice of ``kind`` about ``integration`` goes to, each with its audience
    for this integration. Three queries."""
    urgency = NOTICE_URGENCY[kind]
    if urgency is None:
        thresholds = policy.thresholds_for(
            override=integration.reminder_thresholds,
            default=settings.KEYVAULT_REMINDER_THRESHOLDS,
        )
        urgency = max(thresholds, default=0)
    channels = Channel.objects.filter(Q(is_default=True) | Q(integrations=integration)).distinct()
    escalation = audience_overrides(integration_ids=[integration.pk])
    return [
        channel
        for channel in channels.order_by("name")
        if channel_has_recipient(channel, owner_email=integration.owner_email)
        and policy.audience_receives(
            threshold=urgency,
            escalate_from=escalation.get((integration.pk, channel.pk), channel.escalate_from_days),
        )
    ]


def notices_raise(*, credential: Credential, kind: NoticeKind, key: str, now: datetime) -> int:
    """Owe the notice ``kind`` (occurrence ``key``, e.g. a check's id or a week) about the
    current ``credential`` to each of its channels; returns how many rows are new (0 when
    this occurrence was raised before, or nobody is there to tell).

    Call inside the transaction of the change that calls for it: the rows are written there,
    and handed to delivery once it commits (a rollback owes nothing).
    """
    if not credential_tracked(credential):
        return 0  # rotated, revoked, or its integration archived: nobody is to act on it
    key = key[: Notice._meta.get_field("key").max_length]  # type: ignore[index]
    channels = notice_channels(integration=credential.integration, kind=kind)
    occurrence = Notice.objects.filter(credential=credential, kind=kind, key=key)
    known = set(occurrence.values_list("channel_id", flat=True))
    new = [
        Notice(credential=credential, channel=channel, kind=kind, key=key, created_at=now)
        for channel in channels
        if channel.pk not in known
    ]
    if not new:
        return 0
    Notice.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent raise wins the race
    ids = list(
        occurrence.filter(status=ReminderStatus.PENDING, enqueued_at__isnull=True).values_list(
            "id", flat=True
        )
    )
    transaction.on_commit(partial(notices_enqueue, ids=ids, now=now))
    logger.info("notice %s raised for credential %s: %d channels", kind, credential.pk, len(new))
    return len(new)


def notices_cancel(*, credential: Credential, kind: NoticeKind | None = None) -> int:
    """Cancel the pending notices (of ``kind``, or all) about ``credential``: what they ask
    for was done (rotated, confirmed). One being sent cannot be stopped. Returns how many."""
    rows = Notice.objects.filter(credential=credential, status=ReminderStatus.PENDING)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return rows.update(status=ReminderStatus.CANCELLED, next_attempt_at=None)


def notices_sweep(*, now: datetime) -> tuple[int, int, list[int]]:
    """The periodic sweep (run by ``reminders_scan`` in its transaction): stale claims out of
    attempts failed, the others re-opened, and the pending ids without a live broker message.
    Returns (exhausted, reopened, ids to enqueue)."""
    rows = Notice.objects.all()
    exhausted = list(
        stale_claims(rows, now=now, exhausted=True).select_related(
            "credential__integration", "channel"
        )
    )
    for notice in exhausted:
        notice_mark_failed(notice=notice, message=exhausted_message(notice.attempts), now=now)
    reopened = stale_claims_reopen(rows, now=now)
    rows.filter(status=ReminderStatus.PENDING).exclude(tracked_q("credential__")).update(
        status=ReminderStatus.CANCELLED, next_attempt_at=None
    )
    ids = list(pending_due(rows, now=now).values_list("id", flat=True))
    return len(exhausted), reopened, ids


def notices_enqueue(*, ids: Sequence[int], now: datetime) -> int:
    """Hand each id to the notice delivery task, recording ``enqueued_at``; a broker that is
    down leaves the rest for the next sweep. Returns how many were handed over."""
    from alerts.tasks import deliver_notice  # the tasks module imports this one

    return outbox_enqueue(
        task=deliver_notice, rows=Notice.objects.all(), ids=ids, now=now, what="notices"
    )


def notices_mark_enqueued(*, ids: Sequence[int], now: datetime) -> int:
    """Record that these pending notices were handed to the broker at ``now``."""
    return Notice.objects.filter(pk__in=ids, status=ReminderStatus.PENDING).update(enqueued_at=now)


def notice_deliver(
    *, notice_id: int, now: datetime, clock: Callable[[], datetime] | None = None
) -> DeliveryResult:
    """Claim, send and record one notice; never raises for a delivery failure. Outcomes as
    ``alerts.delivery.reminder_deliver`` (``CANCELLED`` when its credential is no longer
    current), audited ``NOTICE_SENT`` / ``NOTICE_FAILED``."""
    rows = Notice.objects.filter(pk=notice_id)
    if not outbox_claim(rows=rows, now=now):
        logger.info("notice %s not claimed: another worker got there first", notice_id)
        return DeliveryResult(Outcome.NOT_CLAIMED)
    notice = rows.select_related("credential__integration", "channel").first()
    if notice is None:  # its channel was deleted a moment ago
        return DeliveryResult(Outcome.CANCELLED)
    if not credential_tracked(notice.credential):
        rows.filter(status=ReminderStatus.SENDING).update(status=ReminderStatus.CANCELLED)
        return DeliveryResult(Outcome.CANCELLED)
    failure = outbox_send(
        channel=notice.channel,
        integration=notice.credential.integration,
        notification=partial(notice_notification, notice=notice, now=now),
        label=f"notice {notice.pk}",
    )
    if failure is not None:
        failed_at = clock() if clock is not None else now
        return outbox_after_failure(
            rows=rows,
            attempts=notice.attempts,
            failure=failure,
            mark_failed=partial(notice_mark_failed, notice=notice, now=failed_at),
            label=f"notice {notice.pk}",
            now=failed_at,
        )
    notice_mark_sent(notice=notice, now=now)
    return DeliveryResult(Outcome.SENT)


def notice_mark_sent(*, notice: Notice, now: datetime) -> None:
    """Record that the provider accepted ``notice``, with its audit event, in one write."""
    outbox_mark_sent(
        rows=Notice.objects.filter(pk=notice.pk),
        action=AuditAction.NOTICE_SENT,
        integration=notice.credential.integration,
        target=notice,
        details=_details(notice),
        now=now,
    )


def notice_mark_failed(*, notice: Notice, message: str, now: datetime) -> bool:
    """Mark a ``sending`` notice failed for good, audited ``NOTICE_FAILED``; False (and no
    audit) when it is no longer ``sending``. ``notice`` needs its credential's integration and
    its channel loaded."""
    return outbox_mark_failed(
        rows=Notice.objects.filter(pk=notice.pk),
        action=AuditAction.NOTICE_FAILED,
        integration=notice.credential.integration,
        target=notice,
        details=_details(notice),
        message=message,
        now=now,
    )


def _details(notice: Notice) -> dict[str, Any]:
    """Audit details: metadata only (never a webhook URL or token)."""
    details: dict[str, Any] = {
        "notice": notice.kind,
        "notice_label": notice.get_kind_display(),
        "channel": notice.channel.name,
        "channel_kind": notice.channel.kind,
        "attempts": notice.attempts,
        "credential": str(notice.credential_id),
        "hint": notice.credential.hint,
        "idempotency_key": notice.idempotency_key,
    }
    if notice.possible_duplicate:
        details["possible_duplicate"] = True
    return details
