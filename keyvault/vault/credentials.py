"""Credential versions from a paste: validate it, build the sealed row, insert it, audit it.

Shared by the first paste (``keyvault.vault.services.integration_create``), rotation and the
add-after-revoke flow (``keyvault.rotation``). Every function is keyword-only; validation
raises ``ValidationError`` keyed by field and names the problem, never the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyvault.audit.chain import audit_append
from keyvault.crypto import cipher
from keyvault.models import AuditAction, Credential, CredentialState, Integration
from keyvault.vault import validation
from keyvault.vault.expiry import local_midnight
from keyvault.vault.providers import Provider, provider_for
from keyvault.vault.signals import reminders_may_be_due


@dataclass(frozen=True)
class SecretInput:
    """A validated paste: plaintext lives only as long as this object."""

    scim_url: str
    token: str
    fingerprint: str
    issued_at: datetime
    expires_at: datetime
    #: False: the expiry is unknown and ``expires_at`` the provider's worst case.
    expiry_confirmed: bool = True

    def __repr__(self) -> str:  # never let a secret into a traceback or log line
        return f"SecretInput(fingerprint={self.fingerprint[:12]}…, expires_at={self.expires_at})"


def secret_input_clean(
    *,
    provider: str,
    scim_url: str | None,
    token: str | None,
    issued_at: datetime,
    expires_at: datetime | None,
    check_stored: bool = True,
    expiry_unknown: bool = False,
) -> SecretInput:
    """Validate a pasted credential; raises ``ValidationError`` keyed by field.

    Checks every rule (URL, token, dates, not already stored) and reports all failures at once.
    ``check_stored=False`` leaves out the one query "not already stored", for a caller that
    checks many fingerprints at once (``credential_holders``). ``expiry_unknown`` (a legacy key
    whose vendor does not say when it expires): the expiry is the provider's worst case
    (``Provider.worst_case_expiry``), not confirmed; no expiry may be given with it.
    """
    preset = provider_for(provider)
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    if expiry_unknown:
        try:
            expires_at = worst_case_expiry(preset, expires_at=expires_at)
        except ValidationError as exc:
            errors.update(exc.error_dict)
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
        holder = credential_holders([fp]).get(fp) if check_stored else None
        if holder is not None:
            errors["token"] = [duplicate_error(holder)]
        cleaned["fingerprint"] = fp
    if errors:
        raise ValidationError(errors)
    return SecretInput(
        scim_url=cleaned["scim_url"],
        token=cleaned["token"],
        fingerprint=cleaned["fingerprint"],
        issued_at=issued_at,
        expires_at=cleaned["expires_at"],
        expiry_confirmed=not expiry_unknown,
    )


def worst_case_expiry(preset: Provider, *, expires_at: datetime | None) -> datetime:
    """The expiry of a key saved with "expiry unknown": local midnight of the provider's worst
    case. Raises ``ValidationError`` keyed by field when the provider has none, or a date was
    given as well."""
    if preset.worst_case_expiry is None:
        raise ValidationError(
            {
                "expiry_unknown": [
                    ValidationError(
                        "%(name)s keys have no known latest expiry: give the expiry date.",
                        code="no_worst_case",
                        params={"name": preset.name},
                    )
                ]
            }
        )
    if expires_at is not None:
        raise ValidationError(
            {
                "expires_at": [
                    ValidationError(
                        "Leave the expiry date empty when it is unknown.", code="both_given"
                    )
                ]
            }
        )
    return local_midnight(preset.worst_case_expiry)


def credential_holders(fingerprints: list[str]) -> dict[str, Credential]:
    """The stored versions (with their integration) holding any of these token fingerprints."""
    found = Credential.objects.filter(fingerprint__in=fingerprints).select_related("integration")
    return {str(credential.fingerprint): credential for credential in found}


def duplicate_error(holder: Credential) -> ValidationError:
    """ "This token is already stored (<state> version of “<name>”).", never the token."""
    return ValidationError(
        "This token is already stored (%(state)s version of “%(name)s”).",
        code="duplicate",
        params={"state": holder.get_state_display().lower(), "name": holder.integration.name},
    )


def credential_build(*, integration: Integration, secret: SecretInput, actor: Any) -> Credential:
    """A new current version of ``integration`` holding ``secret``, sealed, not yet saved."""
    credential = Credential(
        integration=integration,
        state=CredentialState.CURRENT,
        fingerprint=secret.fingerprint,
        hint=secret.token[-4:],
        issued_at=secret.issued_at,
        expires_at=secret.expires_at,
        expiry_confirmed=secret.expiry_confirmed,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    credential.seal("scim_url_ciphertext", secret.scim_url)
    credential.seal("token_ciphertext", secret.token)
    return credential


def credential_build_metadata_only(
    *,
    integration: Integration,
    issued_at: datetime,
    expires_at: datetime,
    actor: Any,
    expiry_confirmed: bool = True,
) -> Credential:
    """A new current version of ``integration`` whose secret is kept elsewhere: no ciphertext,
    no fingerprint, no hint; its dates are tracked and reminded like any other. Not saved.
    ``expiry_confirmed=False``: ``expires_at`` is the provider's worst case
    (``worst_case_expiry``)."""
    return Credential(
        integration=integration,
        state=CredentialState.CURRENT,
        secret_stored=False,
        fingerprint=None,
        hint="",
        issued_at=issued_at,
        expires_at=expires_at,
        expiry_confirmed=expiry_confirmed,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def credential_insert(credential: Credential) -> None:
    """Insert; a concurrent duplicate or second current version becomes a ``ValidationError``."""
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
    except IntegrityError as exc:
        holder = (
            Credential.objects.filter(fingerprint=credential.fingerprint)
            .select_related("integration")
            .first()
            if credential.fingerprint
            else None
        )
        if holder is not None:
            raise ValidationError({"token": [duplicate_error(holder)]}) from None
        raise ValidationError(
            {"__all__": ["This integration already has a current credential; rotate it instead."]}
        ) from exc


def credential_audit_details(credential: Credential) -> dict[str, Any]:
    """What the audit log records of a version: identifiers and dates, never the secret."""
    if not credential.secret_stored:
        return {
            "secret_stored": False,
            "issued_at": credential.issued_at.isoformat(),
            "expires_at": credential.expires_at.isoformat(),
        }
    details: dict[str, Any] = {
        "fingerprint": (credential.fingerprint or "")[:16],
        "hint": credential.hint,
        "issued_at": credential.issued_at.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
    }
    if not credential.expiry_confirmed:
        details["expiry_confirmed"] = False
    return details


def credential_create(
    *,
    integration: Integration,
    secret: SecretInput,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> Credential:
    """Add a current credential to an integration that has none (a first paste, or after a
    revoke); audits ``CREDENTIAL_CREATED``. Raises ``ValidationError`` when the token is
    already stored or the integration already has a current version."""
    with transaction.atomic():
        credential = credential_build(integration=integration, secret=secret, actor=actor)
        credential_insert(credential)
        audit_append(
            action=AuditAction.CREDENTIAL_CREATED,
            now=now,
            actor=actor,
            integration=integration,
            target=credential,
            ip=ip,
            details=credential_audit_details(credential),
        )
        reminders_may_be_due.send(sender=Credential, integration_id=integration.pk)
    return credential
