"""Keys whose expiry nobody knows: saved with "expiry unknown — legacy key" (the Atlassian case:
keys made before 2025), they carry the provider's worst-case date, shown as unconfirmed, until
an admin confirms it (``credential_expiry_confirm``) or corrects the dates
(``keyvault.vault.lifecycle.credential_dates_correct``, which confirms too).

Until then the integration's channels are asked once a week to look the date up (the notice
``NoticeKind.EXPIRY_UNCONFIRMED``, one occurrence per ISO week): ``expiry_confirm_reminders_raise``,
which beat runs every hour and which raises nothing before ``KEYVAULT_EXPIRY_CONFIRM_HOUR``
local time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.models import Notice, NoticeKind
from alerts.notices import notices_cancel, notices_raise
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Credential
from keyvault.vault.selectors import tracked_q


def expiry_unconfirmed_q(prefix: str = "") -> Q:
    """Tracked credentials (current, integration not archived) whose expiry is not confirmed:
    a filter of ``Credential``, or of a model reaching credentials through ``prefix``."""
    return tracked_q(prefix) & Q(**{f"{prefix}expiry_confirmed": False})


def week_key(now: datetime) -> str:
    """The notice occurrence of ``now``'s local ISO week, e.g. "2026-W10"."""
    year, week, _ = timezone.localtime(now).isocalendar()
    return f"{year}-W{week:02d}"


def _lock_unconfirmed(credential: Credential) -> Credential | None:
    """``credential`` locked, with its integration, if its expiry is still unconfirmed (and it
    is tracked); else None."""
    return (
        Credential.objects.select_for_update()
        .select_related("integration")
        .filter(expiry_unconfirmed_q(), pk=credential.pk)
        .first()
    )


def credential_expiry_confirm(
    *, actor: Any, credential: Credential, now: datetime, ip: str | None = None
) -> bool:
    """Record that the worst-case expiry shown for the current ``credential`` is right; returns
    False, writing nothing, when it was confirmed already (or is no longer current).

    In one transaction: the flag is set, pending "confirm the date" notices are cancelled and
    ``CREDENTIAL_EXPIRY_CONFIRMED`` is audited with the date confirmed.
    """
    with transaction.atomic():
        locked = _lock_unconfirmed(credential)
        if locked is None:
            return False
        locked.expiry_confirmed = True
        locked.save(update_fields=["expiry_confirmed"])
        cancelled = notices_cancel(credential=locked, kind=NoticeKind.EXPIRY_UNCONFIRMED)
        audit_append(
            action=AuditAction.CREDENTIAL_EXPIRY_CONFIRMED,
            now=now,
            actor=actor,
            integration=locked.integration,
            target=locked,
            ip=ip,
            details={
                "hint": locked.hint,
                "expires_at": locked.expires_at.isoformat(),
                "notices_cancelled": cancelled,
            },
        )
    return True


def credentials_to_ask(*, now: datetime) -> QuerySet[Credential]:
    """Unconfirmed credentials not yet asked about in ``now``'s week."""
    asked = Notice.objects.filter(
        credential=OuterRef("pk"), kind=NoticeKind.EXPIRY_UNCONFIRMED, key=week_key(now)
    )
    return (
        Credential.objects.filter(expiry_unconfirmed_q())
        .exclude(Exists(asked))
        .select_related("integration")
        .order_by("expires_at", "pk")
    )


def expiry_confirm_reminders_raise(*, now: datetime) -> int:
    """Ask the channels of every unconfirmed credential to confirm its expiry, once per local
    ISO week, each in its own transaction; nothing before ``KEYVAULT_EXPIRY_CONFIRM_HOUR``
    local time. Returns how many notice rows are new."""
    hour = settings.KEYVAULT_EXPIRY_CONFIRM_HOUR  # type: ignore[misc]  # keyvault.vault.settings
    if timezone.localtime(now).hour < hour:
        return 0
    key = week_key(now)
    raised = 0
    for credential in credentials_to_ask(now=now):
        with transaction.atomic():
            locked = _lock_unconfirmed(credential)
            if locked is None:
                continue  # confirmed, corrected, rotated or archived a moment ago
            raised += notices_raise(
                credential=locked, kind=NoticeKind.EXPIRY_UNCONFIRMED, key=key, now=now
            )
    return raised
