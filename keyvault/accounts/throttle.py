"""Throttles: the reveal limit (keyvault's, counted from the audit log) and the sign-in lock-out
(django-axes).

A wrong password re-entered at Reveal is audited as ``credential.reveal_denied``, a wrong current
password at a password change as ``user.password_change_refused``: both are guesses at the
password of a session already signed in, and those events are the count. The failures since the
latest of (the cool-off window's start, the user's last successful reveal, the last time an
admin unlocked them) count towards ``KEYVAULT_REVEAL_FAILURE_LIMIT``. Reveal and password changes
are then paused for that user until enough failures age out of the window — sign-in is not
affected. Because the audit log is the record, the count is the same for every web process and
survives restarts, and nothing else has to be cleaned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q

from keyvault.models import AuditAction, AuditEvent

#: Reasons of a refused reveal that count towards the limit (a wrong answer, not a refusal
#: because the limit was already reached).
COUNTED_REASONS = ("wrong password", "wrong code")
#: The reason recorded when the limit refused a reveal before any check.
LIMIT_REASON = "too many attempts"


def reveal_cooloff() -> timedelta:
    return timedelta(minutes=settings.KEYVAULT_REVEAL_COOLOFF_MINUTES)


def _count_from(*, user: Any, now: datetime) -> datetime:
    window_start = now - reveal_cooloff()
    last_reveal = AuditEvent.objects.filter(
        actor_id=user.pk, action=AuditAction.CREDENTIAL_REVEALED
    ).aggregate(at=Max("created_at"))["at"]
    last_unlock = AuditEvent.objects.filter(
        action=AuditAction.USER_UNLOCKED, target_type="user", target_id=str(user.pk)
    ).aggregate(at=Max("created_at"))["at"]
    return max(moment for moment in (window_start, last_reveal, last_unlock) if moment)


def reveal_failures(*, user: Any, now: datetime) -> int:
    """Wrong answers (at Reveal, or as the current password) that count against ``user`` at
    ``now``."""
    wrong_answer = Q(
        action=AuditAction.CREDENTIAL_REVEAL_DENIED, details__reason__in=COUNTED_REASONS
    ) | Q(action=AuditAction.USER_PASSWORD_CHANGE_REFUSED)
    return (
        AuditEvent.objects.filter(
            actor_id=user.pk,
            created_at__gt=_count_from(user=user, now=now),
            created_at__lte=now,
        )
        .filter(wrong_answer)
        .count()
    )


def reveal_attempts_left(*, user: Any, now: datetime) -> int:
    """How many more wrong answers ``user`` may give at Reveal (0: reveal is paused)."""
    return max(settings.KEYVAULT_REVEAL_FAILURE_LIMIT - reveal_failures(user=user, now=now), 0)


def attempts_left_phrase(left: int) -> str:
    """“The attempt was recorded; 3 attempts left.”"""
    return f"The attempt was recorded; {left} attempt{'s' if left != 1 else ''} left."


def sign_in_locked(*, username: str, now: datetime) -> bool:
    """Whether django-axes refuses sign-in for ``username`` (from any address) at ``now``."""
    return AccessAttempt.objects.filter(
        username=username,
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gt=now - settings.AXES_COOLOFF_TIME,
    ).exists()


def locked_usernames(*, now: datetime) -> set[str]:
    """The usernames django-axes refuses sign-in for at ``now`` (one query, for the list)."""
    return set(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gt=now - settings.AXES_COOLOFF_TIME,
        ).values_list("username", flat=True)
    )
