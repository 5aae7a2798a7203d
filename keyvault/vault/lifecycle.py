"""Corrections to an integration's life that are not a new version: its current credential's
dates, and retiring the integration (archive) or bringing it back (restore).

An archived integration (``Integration.archived_at`` set) keeps its versions, rotations and
audit history, but is left out of everything that follows current keys: the dashboard, the
reminder scan and notices, live checks, the digest, the calendar feed and the metrics
(``keyvault.vault.selectors.tracked_q``).

Every service is keyword-only, takes ``now`` from its caller, locks what it changes, validates,
writes and audits in one transaction, and writes nothing when nothing changed. Bad input is a
``ValidationError`` keyed by argument name (``issued_at``, ``expires_at``, ``reason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Credential, Integration
from keyvault.rotation.services import credential_ensure_current, plaintext_tokens, reason_clean
from keyvault.vault.signals import (
    credential_dates_changed,
    integration_archived,
    reminders_may_be_due,
)


@dataclass(frozen=True)
class DatesCorrection:
    """What ``credential_dates_correct`` did: the credential as saved, and whether it changed."""

    credential: Credential
    changed: bool


def credential_dates_errors(
    *, issued_at: datetime, expires_at: datetime, now: datetime
) -> dict[str, list[ValidationError]]:
    """Problems with a pair of dates, keyed by argument: an issue date in the future, an
    expiry not after the issue."""
    errors: dict[str, list[ValidationError]] = {}
    if issued_at > now:
        errors["issued_at"] = [
            ValidationError("The issue date cannot be in the future.", code="future")
        ]
    if expires_at <= issued_at:
        errors["expires_at"] = [
            ValidationError("The expiry date must be after the issue date.", code="before_issue")
        ]
    return errors


def _lock_current(credential: Credential) -> Credential:
    """Lock the integration, then the credential (the rotation services' order); fail
    clearly when it is no longer current."""
    Integration.objects.select_for_update().get(pk=credential.integration_id)
    locked = (
        Credential.objects.select_for_update().select_related("integration").get(pk=credential.pk)
    )
    credential_ensure_current(credential=locked, verb="corrected")
    return locked


def credential_dates_correct(
    *,
    actor: Any,
    credential: Credential,
    issued_at: datetime,
    expires_at: datetime,
    reason: str,
    now: datetime,
    ip: str | None = None,
) -> DatesCorrection:
    """Correct the issue and expiry dates of the current ``credential`` (a typo, a vendor date
    learnt later); a reason is required when anything changes. An expiry that was not confirmed
    (``Credential.expiry_confirmed``) is confirmed by it, even with the same dates.

    Audits ``CREDENTIAL_DATES_CORRECTED`` with the old and new dates and the reason, and sends
    ``credential_dates_changed`` (the reminders are planned again for the new expiry), in one
    transaction. Unchanged dates write nothing. Raises ``ValidationError`` keyed by
    ``issued_at`` / ``expires_at`` / ``reason`` (all problems at once), or form-wide when the
    credential is no longer current; nothing is saved then.
    """
    errors = credential_dates_errors(issued_at=issued_at, expires_at=expires_at, now=now)
    with transaction.atomic():
        locked = _lock_current(credential)
        unchanged = (
            locked.issued_at == issued_at
            and locked.expires_at == expires_at
            and locked.expiry_confirmed
        )
        if unchanged and not errors:
            return DatesCorrection(credential=locked, changed=False)
        try:
            text = reason_clean(
                reason,
                required=True,
                fingerprints={locked.fingerprint} if locked.fingerprint else set(),
                tokens=plaintext_tokens([locked]),
            )
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if errors:
            raise ValidationError(errors)
        before = {"issued_at": locked.issued_at, "expires_at": locked.expires_at}
        confirms = not locked.expiry_confirmed
        locked.issued_at, locked.expires_at = issued_at, expires_at
        locked.expiry_confirmed = True  # someone looked the dates up
        locked.save(update_fields=["issued_at", "expires_at", "expiry_confirmed"])
        audit_append(
            action=AuditAction.CREDENTIAL_DATES_CORRECTED,
            now=now,
            actor=actor,
            integration=locked.integration,
            target=locked,
            ip=ip,
            details={
                "hint": locked.hint,
                "old_issued_at": before["issued_at"].isoformat(),
                "old_expires_at": before["expires_at"].isoformat(),
                "issued_at": issued_at.isoformat(),
                "expires_at": expires_at.isoformat(),
                "reason": text,
                **({"expiry_confirmed": True} if confirms else {}),
            },
        )
        credential_dates_changed.send(sender=Credential, credential=locked, now=now)
    return DatesCorrection(credential=locked, changed=True)


def _archive_set(
    *, integration: Integration, archived: bool, actor: Any, now: datetime, ip: str | None
) -> Integration:
    """Archive (``archived``) or restore ``integration``; audited, nothing written when it is
    already so."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        if (locked.archived_at is not None) == archived:
            return locked
        since = locked.archived_at
        locked.archived_at = now if archived else None
        locked.save(update_fields=["archived_at", "updated_at"])
        details: dict[str, Any] = {"name": locked.name}
        if since is not None:
            details["archived_at"] = since.isoformat()
        audit_append(
            action=AuditAction.INTEGRATION_ARCHIVED
            if archived
            else AuditAction.INTEGRATION_RESTORED,
            now=now,
            actor=actor,
            integration=locked,
            target=locked,
            ip=ip,
            details=details,
        )
        if archived:
            integration_archived.send(sender=Integration, integration=locked, now=now)
        else:
            reminders_may_be_due.send(sender=Integration, integration_id=locked.pk)
    return locked


def integration_archive(
    *, integration: Integration, actor: Any, now: datetime, ip: str | None = None
) -> Integration:
    """Retire ``integration``: hidden from the dashboard (listed under "Archived"), no more
    reminders, notices, live checks, digest lines, feed events or metrics; its history stays.
    Audits ``INTEGRATION_ARCHIVED`` and cancels what is still owed, in one transaction; an
    integration already archived is left as it is."""
    return _archive_set(integration=integration, archived=True, actor=actor, now=now, ip=ip)


def integration_restore(
    *, integration: Integration, actor: Any, now: datetime, ip: str | None = None
) -> Integration:
    """Bring an archived ``integration`` back: tracked and reminded again (a scan runs once it
    commits). Audits ``INTEGRATION_RESTORED``; one not archived is left as it is."""
    return _archive_set(integration=integration, archived=False, actor=actor, now=now, ip=ip)
