"""Writes to the vault: integrations, and revealing a credential. Each service validates,
writes and audits in one transaction (credential versions themselves are built in
``keyvault.vault.credentials``).

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
from keyvault.models import AuditAction, Credential, Integration
from keyvault.vault import credentials, leaks
from keyvault.vault.signals import reminders_may_be_due

INTEGRATION_FIELDS = (
    "name",
    "provider",
    "identity_provider",
    "owner",
    "owner_email",
    "owner_slack_id",
    "notes",
    "reminder_thresholds",
)


_NAME_TAKEN = "An integration with this name already exists."
#: Metadata people type by hand, shown on pages and kept in the audit log: never a token.
_FREE_TEXT_FIELDS = ("name", "owner", "notes")


def integration_refuse_tokens(fields: Mapping[str, Any], *, tokens: list[str]) -> None:
    """``ValidationError`` keyed by field when a free-text field holds a token or part of one."""
    leaks.refuse_secrets(
        {k: str(fields[k]) for k in _FREE_TEXT_FIELDS if fields.get(k)}, secrets=tokens
    )


def _integration_tokens(integration: Integration) -> list[str]:
    """The plaintext tokens of the integration's versions that still hold one."""
    tokens = []
    for credential in Credential.objects.filter(
        integration=integration, destroyed_at__isnull=True, secret_stored=True
    ):
        try:
            tokens.append(credential.unseal("token_ciphertext"))
        except cipher.CryptoError:
            continue  # cannot compare with it; its reveal page says why
    return tokens


def _integration_save(integration: Integration, *, insert: bool) -> None:
    """Validate and save; a name taken (also meanwhile, by a concurrent writer) is a field
    error on ``name``."""
    integration.full_clean(validate_unique=False)
    if Integration.objects.filter(name=integration.name).exclude(pk=integration.pk).exists():
        raise ValidationError({"name": [ValidationError(_NAME_TAKEN, code="unique")]})
    try:
        with transaction.atomic():
            integration.save(force_insert=insert)
    except IntegrityError:
        raise ValidationError({"name": [ValidationError(_NAME_TAKEN, code="unique")]}) from None


def integration_create(
    *,
    fields: Mapping[str, Any],
    secret: credentials.SecretInput,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> tuple[Integration, Credential]:
    """Create an integration with its first (current) credential; audits both.

    Raises ``ValidationError`` keyed by field (a name taken, a token pasted into the name,
    owner or notes), writing nothing.
    """
    integration_refuse_tokens(fields, tokens=[secret.token])
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
        credential = credentials.credential_create(
            integration=integration, secret=secret, actor=actor, now=now, ip=ip
        )
    return integration, credential


def integration_update(
    *,
    integration: Integration,
    fields: Mapping[str, Any],
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> Integration:
    """Change an integration's metadata; audits the fields that changed, from and to.

    Raises ``ValidationError`` keyed by field (a name taken, a token of the integration pasted
    into the name, owner or notes), writing nothing.
    """
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        integration_refuse_tokens(fields, tokens=_integration_tokens(locked))
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
        if {"reminder_thresholds", "owner_email"} & changed.keys():
            reminders_may_be_due.send(sender=Integration, integration_id=locked.pk)
    return locked


@dataclass(frozen=True)
class RevealedSecret:
    scim_url: str
    token: str

    def __repr__(self) -> str:
        return "RevealedSecret(<hidden>)"


class RevealError(Exception):
    """The credential cannot be revealed (metadata only, destroyed, or undecryptable: the
    message says why)."""


NOT_STORED_HERE = (
    "No secret is stored here for this version: it was imported as metadata only (the secret "
    "is kept elsewhere). Rotate it to paste the real key."
)


def credential_reveal(
    *, credential: Credential, actor: Any, now: datetime, ip: str | None = None
) -> RevealedSecret:
    """Decrypt a credential for an admin who has just re-entered their password; audited.

    Raises ``RevealError`` when no secret is stored here (metadata only), the ciphertext was
    destroyed or cannot be decrypted (the message names the key id, never data).
    """
    if not credential.secret_stored:
        raise RevealError(NOT_STORED_HERE)
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
    """Record a refused reveal (``reason``: "wrong password", "wrong code", or "too many
    attempts" when the reveal limit refused it before any check)."""
    audit_append(
        action=AuditAction.CREDENTIAL_REVEAL_DENIED,
        now=now,
        actor=actor,
        integration=credential.integration,
        target=credential,
        ip=ip,
        details={"reason": reason, "hint": credential.hint},
    )
