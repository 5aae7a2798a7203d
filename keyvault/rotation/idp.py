"""The identity provider after a rotation: "not yet" updated, its reminder, and its confirmation.

A rotation answered "not yet" (the new key is not in the identity provider) leaves the new
credential ``idp_pending``: the dashboard and the integration page say "IdP not updated" until an
admin confirms it (``credential_idp_confirm``), rotates again or revokes. A credential pending
for a day or more is reminded of once through the integration's channels (the notice
``NoticeKind.IDP_NOT_UPDATED``), by ``idp_reminders_raise``, which beat runs every hour and which
raises nothing before ``KEYVAULT_IDP_REMINDER_HOUR`` local time (nobody is woken at night).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.models import NoticeKind
from alerts.notices import notices_cancel, notices_raise
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Credential, CredentialState, Rotation

#: The answer to "is the new key in the identity provider?" at a rotation, on the rotate form
#: and in the API; no default: the admin must say.
IDP_CHOICES = [("yes", "Yes, it is in and tested"), ("not_yet", "Not yet")]

#: How long a credential stays "not yet" updated before its reminder is owed.
REMIND_AFTER = timedelta(days=1)
#: The notice's occurrence key: one reminder per pending credential, whatever the runs.
REMINDER_KEY = "next-day"


def idp_not_updated_q(prefix: str = "") -> Q:
    """Current credentials whose identity provider is not updated yet: a filter of
    ``Credential`` (``prefix=""``) or of a model that reaches credentials through ``prefix``
    (e.g. ``"credentials__"`` from ``Integration``)."""
    return Q(**{f"{prefix}state": CredentialState.CURRENT, f"{prefix}idp_pending": True})


def idp_answer(value: str) -> bool:
    """The rotation's ``idp_updated`` for an answer of ``IDP_CHOICES``: True for "yes"."""
    return value == "yes"


def _lock_pending(credential: Credential) -> Credential | None:
    """``credential`` locked, with its integration, if it is still pending; else None."""
    return (
        Credential.objects.select_for_update()
        .select_related("integration")
        .filter(idp_not_updated_q(), pk=credential.pk)
        .first()
    )


def credential_idp_confirm(
    *, actor: Any, credential: Credential, now: datetime, ip: str | None = None
) -> bool:
    """Record that the identity provider now holds ``credential`` (the current key of its
    integration); returns False, writing nothing, when it was not pending (confirmed already,
    answered "yes" at the rotation, or retired since).

    In one transaction: the flag is cleared, the rotation that made the credential gets
    ``idp_confirmed_at = now``, the pending reminder notices are cancelled and
    ``CREDENTIAL_IDP_CONFIRMED`` is audited.
    """
    with transaction.atomic():
        locked = _lock_pending(credential)
        if locked is None:
            return False
        locked.idp_pending = False
        locked.save(update_fields=["idp_pending"])
        rotation = Rotation.objects.filter(new_credential=locked).first()
        if rotation is not None:
            rotation.idp_confirmed_at = now
            rotation.save(update_fields=["idp_confirmed_at"])
        cancelled = notices_cancel(credential=locked, kind=NoticeKind.IDP_NOT_UPDATED)
        audit_append(
            action=AuditAction.CREDENTIAL_IDP_CONFIRMED,
            now=now,
            actor=actor,
            integration=locked.integration,
            target=locked,
            ip=ip,
            details={
                "hint": locked.hint,
                "identity_provider": locked.integration.identity_provider,
                "rotation": str(rotation.pk) if rotation else "",
                "rotated_at": rotation.rotated_at.isoformat() if rotation else "",
                "notices_cancelled": cancelled,
            },
        )
    return True


def credentials_to_remind(*, now: datetime) -> QuerySet[Credential]:
    """Pending credentials rotated in at least ``REMIND_AFTER`` ago whose reminder was never
    raised."""
    return (
        Credential.objects.filter(
            idp_not_updated_q(), rotated_from__rotated_at__lte=now - REMIND_AFTER
        )
        .exclude(notices__kind=NoticeKind.IDP_NOT_UPDATED)
        .select_related("integration")
        .order_by("rotated_from__rotated_at")
    )


def idp_reminders_raise(*, now: datetime) -> int:
    """Raise the "identity provider not updated" reminder of every credential due one (see
    ``credentials_to_remind``), each in its own transaction; nothing before
    ``KEYVAULT_IDP_REMINDER_HOUR`` local time. Returns how many notice rows are new."""
    hour = settings.KEYVAULT_IDP_REMINDER_HOUR  # type: ignore[misc]  # keyvault.rotation.settings
    if timezone.localtime(now).hour < hour:
        return 0
    raised = 0
    for credential in credentials_to_remind(now=now):
        with transaction.atomic():
            locked = _lock_pending(credential)
            if locked is None:
                continue  # confirmed, rotated or revoked a moment ago
            raised += notices_raise(
                credential=locked, kind=NoticeKind.IDP_NOT_UPDATED, key=REMINDER_KEY, now=now
            )
    return raised
