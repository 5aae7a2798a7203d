"""Writes to the vault. Each service validates, writes and audits in one transaction.

Every function is keyword-only, takes ``now`` from its caller and raises ``ValidationError``
(a dict keyed by form field) for bad input, leaving nothing half-saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyvault.audit.chain import audit_append
from keyvault.crypto import cipher
from keyvault.models import AuditAction, Credential, CredentialState, Integration
from keyvault.vault import validation
from keyvault.vault.providers import provider_for

INTEGRATION_FIELDS = (
    "name",
    "provider",
    "identity_provider",
    "owner",
    "owner_email",
    "notes",
    "reminder_thresholds",
)


@dataclass(frozen=True)
class SecretInput:
    """A validated paste: plaintext lives only as long as this object."""

    scim_url: str
    token: str
    fingerprint: str
    issued_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:  # never let a secret into a traceback or log line
        return f"SecretInput(fingerprint={self.fingerprint[:12]}…, expires_at={self.expires_at})"


def secret_input_clean(
    *,
    provider: str,
    scim_url: str | None,
    token: str | None,
    issued_at: datetime,
    expires_at: datetime | None,
) -> SecretInput:
    """Validate a pasted credential; raises ``ValidationError`` keyed by field.

    Checks every rule (URL, token, dates, not already stored) and reports all failures at once.
    """
    preset = provider_for(provider)
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for field, check in (
        ("scim_url", lambda: validation.clean_scim_url(scim_url, provider=preset)),
        ("token", lambda: validation.clean_token(token)),
        (
            "expires_at",
            lambda: validation.clean_expiry(
                issued_at=issued_at, expires_at=expires_at, provider=preset
            ),
        ),
    ):
        try:
            cleaned[field] = check()
        except ValidationError as exc:
            errors[field] = exc.error_list
    if "token" in cleaned:
        fp = cipher.fingerprint(cleaned["token"])
        holder = Credential.objects.filter(fingerprint=fp).select_related("integration").first()
        if holder is not None:
            errors["token"] = [_duplicate_error(holder)]
        cleaned["fingerprint"] = fp
    if errors:
        raise ValidationError(errors)
    return SecretInput(
        scim_url=cleaned["scim_url"],
        token=cleaned["token"],
        fingerprint=cleaned["fingerprint"],
        issued_at=issued_at,
        expires_at=cleaned["expires_at"],
    )


def _duplicate_error(holder: Credential) -> ValidationError:
    return ValidationError(
        "This token is already stored (%(state)s version of “%(name)s”).",
        code="duplicate",
        params={"state": holder.get_state_display().lower(), "name": holder.integration.name},
    )


def _credential_build(*, integration: Integration, secret: SecretInput, actor: Any) -> Credential:
    credential = Credential(
        integration=integration,
        state=CredentialState.CURRENT,
        fingerprint=secret.fingerprint,
        hint=secret.token[-4:],
        issued_at=secret.issued_at,
        expires_at=secret.expires_at,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    credential.seal("scim_url_ciphertext", secret.scim_url)
    credential.seal("token_ciphertext", secret.token)
    return credential


def _save_new_credential(credential: Credential) -> None:
    """Insert; a concurrent duplicate or second current version becomes a ``ValidationError``."""
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
    except IntegrityError as exc:
        holder = (
            Credential.objects.filter(fingerprint=credential.fingerprint)
            .select_related("integration")
            .first()
        )
        if holder is not None:
            raise ValidationError({"token": [_duplicate_error(holder)]}) from None
        raise ValidationError(
            {"__all__": ["This integration already has a current credential; rotate it instead."]}
        ) from exc


def _credential_audit_details(credential: Credential) -> dict[str, Any]:
    return {
        "fingerprint": credential.fingerprint[:16],
        "hint": credential.hint,
        "issued_at": credential.issued_at.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
    }


def _integration_save(integration: Integration, *, insert: bool) -> None:
    """Validate and save; a name taken meanwhile by a concurrent writer is a field error."""
    integration.full_clean()
    try:
        with transaction.atomic():
            integration.save(force_insert=insert)
    except IntegrityError:
        raise ValidationError({"name": ["An integration with this name already exists."]}) from None


def integration_create(
    *,
    fields: Mapping[str, Any],
    secret: SecretInput,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> tuple[Integration, Credential]:
    """Create an integration with its first (current) credential; audits both."""
    with transaction.atomic():
        integration = Integration(
            **{k: fields[k] for k in INTEGRATION_FIELDS if k in fields},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _integration_save(integration, insert=True)
        audit_append(
            action=AuditAction.INTEGRATION_CREATED,
            now=now,
            actor=actor,
            integration=integration,
            target=integration,
            ip=ip,
            details={"name": integration.name, "provider": integration.provider},
        )
        credential = credential_create(
            integration=integration, secret=secret, actor=actor, now=now, ip=ip
        )
    return integration, credential


def credential_create(
    *,
    integration: Integration,
    secret: SecretInput,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> Credential:
    """Add a current credential to an integration that has none (e.g. after a revoke)."""
    with transaction.atomic():
        credential = _credential_build(integration=integration, secret=secret, actor=actor)
        _save_new_credential(credential)
        audit_append(
            action=AuditAction.CREDENTIAL_CREATED,
            now=now,
            actor=actor,
            integration=integration,
            target=credential,
            ip=ip,
            details=_credential_audit_details(credential),
        )
    return credential


def integration_update(
    *,
    integration: Integration,
    fields: Mapping[str, Any],
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> Integration:
    """Change an integration's metadata; audits the names of the fields that changed."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        changed = {}
        for key in INTEGRATION_FIELDS:
            if key in fields and getattr(locked, key) != fields[key]:
                changed[key] = {"from": getattr(locked, key), "to": fields[key]}
                setattr(locked, key, fields[key])
        if not changed:
            return locked
        _integration_save(locked, insert=False)
        audit_append(
            action=AuditAction.INTEGRATION_EDITED,
            now=now,
            actor=actor,
            integration=locked,
            target=locked,
            ip=ip,
            details={"changed": changed},
        )
    return locked


@dataclass(frozen=True)
class RevealedSecret:
    scim_url: str
    token: str

    def __repr__(self) -> str:
        return "RevealedSecret(<hidden>)"


class RevealError(Exception):
    """The credential cannot be revealed (destroyed, or undecryptable: message says why)."""


def credential_reveal(
    *, credential: Credential, actor: Any, now: datetime, ip: str | None = None
) -> RevealedSecret:
    """Decrypt a credential for an admin who has just re-entered their password; audited.

    Raises ``RevealError`` when the ciphertext was destroyed or cannot be decrypted (the
    message names the key id, never data).
    """
    if credential.is_destroyed or not credential.token_ciphertext:
        raise RevealError("This version's secret was destroyed after its grace period.")
    try:
        revealed = RevealedSecret(
            scim_url=credential.unseal("scim_url_ciphertext"),
            token=credential.unseal("token_ciphertext"),
        )
    except cipher.CryptoError as exc:
        raise RevealError(str(exc)) from None
    audit_append(
        action=AuditAction.CREDENTIAL_REVEALED,
        now=now,
        actor=actor,
        integration=credential.integration,
        target=credential,
        ip=ip,
        details={"hint": credential.hint, "state": credential.state},
    )
    return revealed


def credential_reveal_denied(
    *,
    credential: Credential,
    actor: Any,
    now: datetime,
    ip: str | None = None,
    reason: str = "wrong password",
) -> None:
    """Record a refused reveal (``reason``: "wrong password", or "locked out" by throttling)."""
    audit_append(
        action=AuditAction.CREDENTIAL_REVEAL_DENIED,
        now=now,
        actor=actor,
        integration=credential.integration,
        target=credential,
        ip=ip,
        details={"reason": reason},
    )
