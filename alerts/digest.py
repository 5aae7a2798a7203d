"""The weekly digest per channel: which are owed (the digest scan), what one says, delivery.

A channel with ``digest_weekday`` set gets, once a week at ``digest_hour`` local time, one
message listing what expires within ``KEYVAULT_DIGEST_WINDOW_DAYS``, what has expired, which
rotations still wait for confirmation that the identity provider was updated, and which keys
their vendor rejected at the last live check.

Exactly once per channel and week: the scan inserts a ``Digest`` outbox row whose unique key
is (channel, week); delivery claims it with the reminders' conditional UPDATE, sends outside
any transaction, backs off on transient failures and audits the outcome
(``alerts.delivery``). The content is selected when the digest is sent, as of that moment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from alerts import policy
from alerts.delivery import outbox_claim, outbox_enqueue, outbox_send
from alerts.digest_messages import digest_notification
from alerts.messages import Due, integration_url, local_day, rotate_url
from alerts.models import Channel, Digest, ReminderStatus
from alerts.outcomes import (
    DeliveryResult,
    Outcome,
    outbox_after_failure,
    outbox_mark_failed,
    outbox_mark_sent,
)
from alerts.sweep import exhausted_message, pending_due, stale_claims, stale_claims_reopen
from keyvault.models import AuditAction, Credential, CredentialState
from keyvault.rotation.idp import idp_not_updated_q
from keyvault.vault.check_models import CheckStatus

logger = logging.getLogger(__name__)

# --- content ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestContent:
    """What one digest lists, metadata only (never a secret). Each item is a dict of strings
    and numbers the templates show; lists are in the order they are shown."""

    window_days: int
    expiring: list[dict[str, Any]] = field(default_factory=list)  # soonest first
    expired: list[dict[str, Any]] = field(default_factory=list)  # longest overdue first
    idp_unconfirmed: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    vendor_rejected: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "expiring": len(self.expiring),
            "expired": len(self.expired),
            "idp_unconfirmed": len(self.idp_unconfirmed),
            "vendor_rejected": len(self.vendor_rejected),
        }


def digest_scope(channel: Channel) -> Q:
    """The credentials ``channel``'s digest covers: of its integrations (every integration for
    a default channel), archived ones left out."""
    linked = Q() if channel.is_default else Q(integration__channels=channel)
    return linked & Q(integration__archived_at__isnull=True)


def digest_content(*, channel: Channel, now: datetime) -> DigestContent:
    """What ``channel``'s digest lists at ``now``: its integrations' (every integration for a
    default channel) current credentials expiring within the window or expired, their
    rotations not yet confirmed in the identity provider, and the keys their vendor rejected.
    Four queries."""
    window = settings.KEYVAULT_DIGEST_WINDOW_DAYS
    in_scope = digest_scope(channel)
    credentials = (
        Credential.objects.filter(
            in_scope,
            state=CredentialState.CURRENT,
            expires_at__lte=now + timedelta(days=window),
        )
        .select_related("integration")
        .order_by("expires_at", "integration__name")
    )
    content = DigestContent(window_days=window)
    for credential in credentials:
        integration = credential.integration
        due = Due.at(credential.expires_at, now=now)
        item = {
            "name": integration.name,
            "provider": integration.get_provider_display(),
            "owner": integration.owner or integration.owner_email or "no owner",
            "expires_date": local_day(credential.expires_at),
            "phrase": due.phrase,
            "hint": credential.hint,
            "rotate_url": rotate_url(integration),
        }
        (content.expired if due.expired else content.expiring).append(item)
    pending = (
        Credential.objects.filter(in_scope, idp_not_updated_q(), rotated_from__isnull=False)
        .select_related("integration", "rotated_from__rotated_by")
        .order_by("rotated_from__rotated_at", "integration__name")
    )
    for credential in pending:
        rotation, integration = credential.rotated_from, credential.integration
        content.idp_unconfirmed.append(
            {
                "name": integration.name,
                "identity_provider": integration.get_identity_provider_display(),
                "rotated_date": local_day(rotation.rotated_at),
                "rotated_by": rotation.rotated_by.get_username() if rotation.rotated_by else "",
                "integration_url": integration_url(integration),
            }
        )
    content.vendor_rejected.extend(digest_vendor_rejections(channel=channel, now=now))
    return content


def digest_vendor_rejections(*, channel: Channel, now: datetime) -> list[dict[str, Any]]:
    """Current credentials of the channel's integrations that their vendor rejected at the
    last live check, longest rejected first. One query."""
    in_scope = digest_scope(channel)
    rejected = (
        Credential.objects.filter(
            in_scope, state=CredentialState.CURRENT, check_status=CheckStatus.REJECTED
        )
        .select_related("integration")
        .order_by("checked_at", "integration__name")
    )
    return [
        {
            "name": credential.integration.name,
            "hint": credential.hint,
            "phrase": "rejected at the live check of "
            + (local_day(credential.checked_at) if credential.checked_at else "an unknown day"),
            "rotate_url": rotate_url(credential.integration),
        }
        for credential in rejected
    ]


# --- the digest scan --------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestScanResult:
    """What one digest scan did: rows recorded (owed), stale claims re-opened or failed, and
    the pending ids handed to delivery."""

    owed: int = 0
    reopened: int = 0
    exhausted: int = 0
    queued: tuple[int, ...] = ()

    def summary(self) -> dict[str, int]:
        return {
            "owed": self.owed,
            "reopened": self.reopened,
            "exhausted": self.exhausted,
            "queued": len(self.queued),
        }


def digests_scan(*, now: datetime, enqueue: bool = True) -> DigestScanResult:
    """Record the digests owed at ``now`` and queue every pending one for delivery.

    A channel is owed the digest of its latest scheduled slot unless that week is recorded
    (``policy.digest_due_week``); the unique (channel, week) key makes concurrent or repeated
    scans insert it once. Re-opens stale ``sending`` claims (flagged ``possible_duplicate``)
    and marks failed those out of attempts. With ``enqueue`` each pending id goes to the
    delivery task after commit. A fixed number of queries.
    """
    tz = timezone.get_default_timezone()
    catch_up = timedelta(hours=settings.KEYVAULT_DIGEST_CATCH_UP_HOURS)
    with transaction.atomic():
        last = dict(
            Digest.objects.order_by()
            .values("channel_id")
            .annotate(last=Max("week"))
            .values_list("channel_id", "last")
        )
        owed = []
        for channel in Channel.objects.filter(digest_weekday__isnull=False).only(
            "id", "digest_weekday", "digest_hour"
        ):
            due = policy.digest_due(
                weekday=channel.digest_weekday,
                hour=channel.digest_hour,
                now=now,
                tz=tz,
                last_week=last.get(channel.pk),
                catch_up=catch_up,
            )
            if due is not None:
                owed.append(Digest(channel=channel, week=due.week, due_at=due.slot, created_at=now))
        Digest.objects.bulk_create(owed, ignore_conflicts=True)
        exhausted = _stale_claims_exhausted(now=now)
        reopened = stale_claims_reopen(Digest.objects.all(), now=now)
        queued = list(pending_due(Digest.objects.all(), now=now).values_list("id", flat=True))
        if enqueue and queued:
            transaction.on_commit(partial(digests_enqueue, ids=queued, now=now))
    result = DigestScanResult(
        owed=len(owed), reopened=reopened, exhausted=exhausted, queued=tuple(queued)
    )
    logger.info("digest scan: %s", result.summary())
    return result


def digests_enqueue(*, ids: Sequence[int], now: datetime) -> int:
    """Send each id to the digest delivery task and record ``enqueued_at``; a broker that is
    down leaves the rest for the next scan. Returns how many were handed over."""
    from alerts.tasks import deliver_digest  # the tasks module imports this one

    return outbox_enqueue(
        task=deliver_digest, rows=Digest.objects.all(), ids=ids, now=now, what="digests"
    )


def digests_mark_enqueued(*, ids: Sequence[int], now: datetime) -> int:
    """Record that these pending digests were handed to the broker at ``now``."""
    if not ids:
        return 0
    return Digest.objects.filter(pk__in=ids, status=ReminderStatus.PENDING).update(enqueued_at=now)


def _stale_claims_exhausted(*, now: datetime) -> int:
    stale = list(
        stale_claims(Digest.objects.all(), now=now, exhausted=True).select_related("channel")
    )
    for digest in stale:
        digest_mark_failed(digest=digest, message=exhausted_message(digest.attempts), now=now)
    return len(stale)


# --- delivery ---------------------------------------------------------------------------------


def digest_deliver(
    *, digest_id: int, now: datetime, clock: Callable[[], datetime] | None = None
) -> DeliveryResult:
    """Claim, put together, send and record one digest; never raises for a delivery failure.

    Outcomes as ``alerts.delivery.reminder_deliver``: ``NOT_CLAIMED`` (another worker got
    there first, or not pending / backing off), ``CANCELLED`` (the channel's digest was
    switched off meanwhile), ``SENT`` (audited ``DIGEST_SENT``), ``RETRY`` (transient, with
    ``retry_in`` from the moment the failure was known, read from ``clock``), ``FAILED``
    (audited ``DIGEST_FAILED``).
    """
    rows = Digest.objects.filter(pk=digest_id)
    if not outbox_claim(rows=rows, now=now):
        logger.info("digest %s not claimed: another worker got there first", digest_id)
        return DeliveryResult(Outcome.NOT_CLAIMED)
    digest = rows.select_related("channel").first()
    if digest is None:  # its channel was deleted a moment ago
        return DeliveryResult(Outcome.CANCELLED)
    if digest.channel.digest_weekday is None:
        rows.filter(status=ReminderStatus.SENDING).update(status=ReminderStatus.CANCELLED)
        return DeliveryResult(Outcome.CANCELLED)
    content = digest_content(channel=digest.channel, now=now)
    failure = outbox_send(
        channel=digest.channel,
        integration=None,
        notification=partial(digest_notification, digest=digest, content=content, now=now),
        label=f"digest {digest.pk}",
    )
    if failure is not None:
        failed_at = clock() if clock is not None else now
        return outbox_after_failure(
            rows=rows,
            attempts=digest.attempts,
            failure=failure,
            mark_failed=partial(digest_mark_failed, digest=digest, now=failed_at),
            label=f"digest {digest.pk}",
            now=failed_at,
        )
    digest_mark_sent(digest=digest, content=content, now=now)
    return DeliveryResult(Outcome.SENT)


def digest_mark_sent(*, digest: Digest, content: DigestContent, now: datetime) -> None:
    """Record that the provider accepted ``digest``, with its audit event, in one write."""
    outbox_mark_sent(
        rows=Digest.objects.filter(pk=digest.pk),
        action=AuditAction.DIGEST_SENT,
        integration=None,
        target=digest,
        details={**_details(digest), **content.counts()},
        now=now,
    )


def digest_mark_failed(*, digest: Digest, message: str, now: datetime) -> bool:
    """Mark a ``sending`` digest failed for good, audited ``DIGEST_FAILED``; False (and no
    audit) when it is no longer ``sending``. ``digest`` needs its channel loaded."""
    return outbox_mark_failed(
        rows=Digest.objects.filter(pk=digest.pk),
        action=AuditAction.DIGEST_FAILED,
        integration=None,
        target=digest,
        details=_details(digest),
        message=message,
        now=now,
    )


def _details(digest: Digest) -> dict[str, Any]:
    """Audit details: metadata only."""
    details: dict[str, Any] = {
        "channel": digest.channel.name,
        "channel_kind": digest.channel.kind,
        "week": digest.week.isoformat(),
        "attempts": digest.attempts,
        "idempotency_key": digest.idempotency_key,
    }
    if digest.possible_duplicate:
        details["possible_duplicate"] = True
    return details
