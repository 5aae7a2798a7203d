"""Credential life after creation: rotate, revoke, and destroy old secrets after a grace period.

Every service is keyword-only, takes ``now`` from its caller, writes its audit event in the same
transaction and raises ``ValidationError`` (a dict keyed by form field) for bad input or a lost
race, leaving nothing half-saved.

Rotations and revocations of one integration are serialised by locking the integration row and
then the credential being retired (``select_for_update``): of two concurrent rotations of the same
credential, the first commits and the second finds the credential no longer current and fails
with a clear message. The partial unique constraint "one current credential per integration"
backs this up at the database level.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from keyvault.audit.chain import audit_append
from keyvault.crypto import cipher
from keyvault.models import (
    AuditAction,
    Credential,
    CredentialState,
    Integration,
    Rotation,
)
from keyvault.rotation.signals import credential_retired
from keyvault.vault import credentials, leaks
from keyvault.vault.expiry import days_left
from keyvault.vault.signals import reminders_may_be_due

REASON_MAX_LENGTH = 500


def rotation_secret_clean(
    *,
    credential: Credential,
    scim_url: str | None,
    token: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> credentials.SecretInput:
    """Validate a replacement for ``credential`` with the same rules as a first paste.

    An empty ``scim_url`` means "keep the current URL": it is decrypted here, on the server, so
    the URL never has to travel to the browser to be "prefilled". Raises ``ValidationError``
    keyed by field (``scim_url``, ``token``, ``expires_at``).
    """
    url = (scim_url or "").strip()
    if not url and credential.scim_url_ciphertext:
        try:
            url = credential.unseal("scim_url_ciphertext")
        except cipher.CryptoError:
            raise ValidationError(
                {"scim_url": ["The current URL cannot be decrypted; paste the URL again."]}
            ) from None
    return credentials.secret_input_clean(
        provider=credential.integration.provider,
        scim_url=url,
        token=token,
        issued_at=now,
        expires_at=expires_at,
    )


def reason_clean(
    reason: str | None, *, required: bool, fingerprints: set[str], tokens: list[str]
) -> str:
    """Trim the free-text reason; refuse one that holds one of the tokens concerned, whole or
    in part (the reason is kept in the audit log and shown to auditors).

    A whole token is recognised by its keyed fingerprint (``fingerprints``, no decryption
    needed); a part of one (``leaks.MIN_FRAGMENT`` characters or more) by comparison with the
    plaintext ``tokens``.
    """
    text = (reason or "").strip()
    if required and not text:
        raise ValidationError({"reason": ["Give a reason; it is kept in the audit log."]})
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": [f"Keep the reason under {REASON_MAX_LENGTH} characters."]}
        )
    if fingerprints and any(cipher.fingerprint(word) in fingerprints for word in text.split()):
        raise ValidationError(
            {"reason": [ValidationError(leaks.LOOKS_LIKE_KEY, code=leaks.LEAK_CODE)]}
        )
    leaks.refuse_secrets({"reason": text}, secrets=tokens)
    return text


def plaintext_tokens(credentials_: list[Credential]) -> list[str]:
    """The plaintext tokens of ``credentials_`` that can still be decrypted."""
    tokens = []
    for credential in credentials_:
        if not credential.secret_stored:
            continue  # metadata only: no token here to compare with
        try:
            tokens.append(credential.unseal("token_ciphertext"))
        except cipher.CryptoError:
            continue  # its whole-token fingerprint is still checked
    return tokens


def _fingerprints(*values: str | None) -> set[str]:
    """The fingerprints of the tokens concerned (a metadata-only version has none)."""
    return {value for value in values if value}


def credential_ensure_current(*, credential: Credential, verb: str) -> None:
    """Raise ``ValidationError`` (form-wide, code ``not_current``) unless ``credential`` is
    current; ``verb`` says what could not be done ("rotated", "revoked")."""
    if credential.state != CredentialState.CURRENT:
        raise ValidationError(
            {
                "__all__": [
                    ValidationError(
                        "This credential can no longer be %(verb)s: it is %(state)s (someone"
                        " else changed it a moment ago). Reload the integration and check its"
                        " history.",
                        code="not_current",
                        params={"verb": verb, "state": credential.get_state_display().lower()},
                    )
                ]
            }
        )


def _lock_current(*, credential: Credential, verb: str) -> Credential:
    """Lock the integration, then the credential; fail clearly if it is no longer current.

    Locking the integration first gives every rotate/revoke of one integration the same lock
    order, so concurrent attempts queue instead of deadlocking.
    """
    Integration.objects.select_for_update().get(pk=credential.integration_id)
    locked = (
        Credential.objects.select_for_update().select_related("integration").get(pk=credential.pk)
    )
    credential_ensure_current(credential=locked, verb=verb)
    return locked


def credential_rotate(
    *,
    credential: Credential,
    secret: credentials.SecretInput,
    actor: Any,
    now: datetime,
    reason: str = "",
    idp_updated: bool = False,
    ip: str | None = None,
) -> Rotation:
    """Replace the current ``credential`` with ``secret``; returns the ``Rotation``.

    In one transaction: the old version becomes ``superseded`` (``superseded_at = now``), the new
    one ``current`` (``idp_pending`` unless ``idp_updated``: "not yet" put into the identity
    provider, see ``keyvault.rotation.idp``), a ``Rotation`` records the lead time in days
    before the old expiry (negative when late), ``CREDENTIAL_ROTATED`` is audited and
    ``credential_retired`` is sent with the old credential. Raises ``ValidationError`` when the
    credential is not current any more (e.g. a concurrent rotation won), the token is already
    stored, or the reason is bad.
    """
    reason = reason_clean(
        reason,
        required=False,
        fingerprints=_fingerprints(secret.fingerprint, credential.fingerprint),
        tokens=[secret.token, *plaintext_tokens([credential])],
    )
    with transaction.atomic():
        old = _lock_current(credential=credential, verb="rotated")
        integration = old.integration
        old.state = CredentialState.SUPERSEDED
        old.superseded_at = now
        old.idp_pending = False  # the identity provider now waits for the new version
        # The old version leaves ``current`` before the new one arrives: the partial unique
        # constraint allows one current version per integration at every moment.
        old.save(update_fields=["state", "superseded_at", "idp_pending"])
        new = credentials.credential_build(integration=integration, secret=secret, actor=actor)
        new.idp_pending = not idp_updated
        credentials.credential_insert(new)
        rotation = Rotation.objects.create(
            integration=integration,
            old_credential=old,
            new_credential=new,
            rotated_at=now,
            rotated_by=actor if getattr(actor, "is_authenticated", False) else None,
            reason=reason,
            idp_updated=idp_updated,
            lead_time_days=days_left(old.expires_at, now=now),
        )
        audit_append(
            action=AuditAction.CREDENTIAL_ROTATED,
            now=now,
            actor=actor,
            integration=integration,
            target=new,
            ip=ip,
            details={
                "rotation": str(rotation.pk),
                "old_credential": str(old.pk),
                "old_hint": old.hint,
                "old_expires_at": old.expires_at.isoformat(),
                "lead_time_days": rotation.lead_time_days,
                "on_time": rotation.on_time,
                "reason": reason,
                "idp_updated": idp_updated,
                **{f"new_{k}": v for k, v in credentials.credential_audit_details(new).items()},
            },
        )
        credential_retired.send(sender=Credential, credential=old, now=now)
        reminders_may_be_due.send(sender=Credential, integration_id=integration.pk)
    return rotation


def credential_revoke(
    *, credential: Credential, reason: str, actor: Any, now: datetime, ip: str | None = None
) -> Credential:
    """Revoke the current ``credential`` (a reason is required); returns it, revoked.

    Audits ``CREDENTIAL_REVOKED`` and sends ``credential_retired`` in the same transaction. The
    integration then has no current credential until an admin adds one. Raises
    ``ValidationError`` when the reason is missing or the credential is not current.
    """
    reason = reason_clean(
        reason,
        required=True,
        fingerprints=_fingerprints(credential.fingerprint),
        tokens=plaintext_tokens([credential]),
    )
    with transaction.atomic():
        locked = _lock_current(credential=credential, verb="revoked")
        locked.state = CredentialState.REVOKED
        locked.revoked_at = now
        locked.revoke_reason = reason
        locked.idp_pending = False  # nothing left for the identity provider to take
        locked.save(update_fields=["state", "revoked_at", "revoke_reason", "idp_pending"])
        audit_append(
            action=AuditAction.CREDENTIAL_REVOKED,
            now=now,
            actor=actor,
            integration=locked.integration,
            target=locked,
            ip=ip,
            details={
                "hint": locked.hint,
                "fingerprint": (locked.fingerprint or "")[:16],
                "expires_at": locked.expires_at.isoformat(),
                "reason": reason,
            },
        )
        credential_retired.send(sender=Credential, credential=locked, now=now)
    return locked


def grace_period() -> timedelta:
    return timedelta(days=settings.KEYVAULT_ROTATION_GRACE_DAYS)


def credentials_due_for_destruction(*, now: datetime) -> QuerySet[Credential]:
    """Retired versions whose grace period is over and whose ciphertext is still stored
    (a metadata-only version has none to wipe).

    A superseded version counts from ``superseded_at``, a revoked one from ``revoked_at``.
    """
    cutoff = now - grace_period()
    return Credential.objects.filter(
        Q(state=CredentialState.SUPERSEDED, superseded_at__lte=cutoff)
        | Q(state=CredentialState.REVOKED, revoked_at__lte=cutoff),
        destroyed_at__isnull=True,
        secret_stored=True,
    )


def credentials_destroy_expired_grace(*, now: datetime, batch_size: int = 200) -> int:
    """Wipe the ciphertexts of retired versions past their grace period; returns how many.

    Metadata (fingerprint, hint, dates, state) is kept. Each row is claimed with a conditional
    UPDATE and audited ``CREDENTIAL_DESTROYED`` in its own transaction, so two overlapping runs
    never destroy or audit a row twice, and an interrupted run leaves no half state.
    """
    destroyed = 0
    while True:
        ids = list(
            credentials_due_for_destruction(now=now)
            .order_by("superseded_at", "revoked_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return destroyed
        for pk in ids:
            with transaction.atomic():
                claimed = Credential.objects.filter(pk=pk, destroyed_at__isnull=True).update(
                    scim_url_ciphertext=b"", token_ciphertext=b"", destroyed_at=now
                )
                if claimed != 1:
                    continue  # another run got there first
                credential = Credential.objects.select_related("integration").get(pk=pk)
                audit_append(
                    action=AuditAction.CREDENTIAL_DESTROYED,
                    now=now,
                    actor_label="system",
                    integration=credential.integration,
                    target=credential,
                    details={
                        "hint": credential.hint,
                        "state": credential.state,
                        "retired_at": (
                            credential.superseded_at or credential.revoked_at or now
                        ).isoformat(),
                        "grace_days": settings.KEYVAULT_ROTATION_GRACE_DAYS,
                    },
                )
                destroyed += 1
