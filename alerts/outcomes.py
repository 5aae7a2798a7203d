"""Recording how a delivery attempt ended, on any outbox row (a reminder, a digest, a notice):
sent (audited), failed for good (audited), or pending again after a backoff.

Each function takes the row as a queryset selecting it, and changes it only from the state the
attempt left it in, so a row cancelled or re-opened meanwhile is not overwritten (except "sent":
the message went out whatever the row says).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet

from alerts import policy
from alerts.models import ReminderStatus
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Integration

logger = logging.getLogger(__name__)

#: Longest error text kept on a row and in the audit log.
MAX_ERROR_CHARS = 500
#: Who the audit log names for deliveries (the system, not a signed-in user).
ACTOR_LABEL = "reminders"


class Outcome(models.TextChoices):
    SENT = "sent", "Sent"
    NOT_CLAIMED = "not_claimed", "Not claimed (not pending, not due yet, or taken)"
    CANCELLED = "cancelled", "Cancelled (credential no longer current)"
    RETRY = "retry", "Failed transiently; retry later"
    FAILED = "failed", "Failed for good"


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery attempt did; ``retry_in`` (seconds, counted from ``failed_at``, the
    moment the provider's failure was known) is set for ``RETRY`` only."""

    outcome: Outcome
    retry_in: float | None = None
    error: str = ""
    failed_at: datetime | None = None


@dataclass(frozen=True)
class SendFailure:
    """Why a send did not go through, as the transport (or an unexpected error) told it."""

    message: str
    permanent: bool
    retry_after: float | None = None


def outbox_mark_sent(
    *,
    rows: QuerySet[Any],
    action: AuditAction,
    integration: Integration | None,
    target: models.Model,
    details: dict[str, Any],
    now: datetime,
) -> bool:
    """Mark the row ``rows`` selects sent at ``now`` and audit ``action``, in one write.

    The message went out whatever the row says now, so this records it even if the row was
    cancelled or re-opened meanwhile. False when the row was already sent: it went out twice,
    which the audit event says (``duplicate``).
    """
    with transaction.atomic():
        marked = rows.exclude(status=ReminderStatus.SENT).update(
            status=ReminderStatus.SENT, sent_at=now, last_error="", next_attempt_at=None
        )
        audit_append(
            action=action,
            now=now,
            actor_label=ACTOR_LABEL,
            integration=integration,
            target=target,
            details=details if marked else {**details, "duplicate": True},
        )
    return bool(marked)


def outbox_mark_failed(
    *,
    rows: QuerySet[Any],
    action: AuditAction,
    integration: Integration | None,
    target: models.Model,
    details: dict[str, Any],
    message: str,
    now: datetime,
) -> bool:
    """Mark the ``sending`` row ``rows`` selects failed for good with ``message``, audited
    ``action``; False (and no audit) when it is no longer ``sending``."""
    message = message[:MAX_ERROR_CHARS]
    with transaction.atomic():
        marked = rows.filter(status=ReminderStatus.SENDING).update(
            status=ReminderStatus.FAILED, last_error=message, next_attempt_at=None
        )
        if marked:
            audit_append(
                action=action,
                now=now,
                actor_label=ACTOR_LABEL,
                integration=integration,
                target=target,
                details={**details, "error": message},
            )
    if marked:
        logger.warning("%s %s failed: %s", type(target).__name__.lower(), target.pk, message)
    return bool(marked)


def outbox_after_failure(
    *,
    rows: QuerySet[Any],
    attempts: int,
    failure: SendFailure,
    mark_failed: Callable[..., object],
    label: str,
    now: datetime,
) -> DeliveryResult:
    """Record a failed attempt on the ``sending`` row ``rows`` selects, ``now`` being when the
    failure was known.

    A permanent failure, or the last of ``KEYVAULT_REMINDER_MAX_ATTEMPTS``, calls
    ``mark_failed(message=...)`` (which marks the row failed and audits it) and returns
    ``FAILED``. Otherwise the row is pending again, not claimable before the backoff
    (``policy.retry_delay``, never sooner than the provider's ``Retry-After``) and ``RETRY``
    says when; ``CANCELLED`` when the row is no longer ``sending`` (cancelled meanwhile).
    """
    message = failure.message[:MAX_ERROR_CHARS]
    if failure.permanent or attempts >= settings.KEYVAULT_REMINDER_MAX_ATTEMPTS:
        if not failure.permanent:
            message = f"{message} Gave up after {attempts} attempts."[:MAX_ERROR_CHARS]
        mark_failed(message=message)
        return DeliveryResult(Outcome.FAILED, error=message)
    delay = policy.retry_delay(
        attempts=attempts,
        retry_after=failure.retry_after,
        base=settings.KEYVAULT_REMINDER_RETRY_BASE_SECONDS,
        cap=settings.KEYVAULT_REMINDER_RETRY_MAX_SECONDS,
    )
    reopened = rows.filter(status=ReminderStatus.SENDING).update(
        status=ReminderStatus.PENDING,
        last_error=message,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    if not reopened:  # cancelled or re-opened meanwhile: nothing left for this attempt to do
        return DeliveryResult(Outcome.CANCELLED, error=message)
    logger.info("%s: transient failure, retry in %.0f s: %s", label, delay, message)
    return DeliveryResult(Outcome.RETRY, retry_in=delay, error=message, failed_at=now)
