"""Live checks: ask the vendor whether a key still works, record what it said, raise the alarm.

``credential_check`` checks a stored credential: it decrypts the URL and token, sends the
SCIM read (``keyvault.vault.live_check``; network, so outside any transaction), then in one
transaction records a ``CredentialCheck``, sets the credential's ``check_status`` and
``checked_at``, audits (every check a person ran; a scheduled one when the result changed) and,
when the result turns ``rejected``, raises the "rejected by the vendor" notice through the
integration's channels. ``replacement_check`` tries a pasted token before it is committed and
stores nothing but its audit event.

Keyword-only; ``now`` comes from the caller. ``LiveCheckUnavailable`` says why a key cannot be
checked (provider without a live check, no URL, a destroyed secret) and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from alerts.models import NoticeKind
from alerts.notices import notices_raise
from keyvault.audit.chain import audit_append
from keyvault.crypto import cipher
from keyvault.models import AuditAction, Credential, CredentialState
from keyvault.vault import live_check
from keyvault.vault.check_models import CheckStatus, CredentialCheck

NOT_STORED = "This key's secret is not stored in keyvault (metadata only); nothing to check."


class LiveCheckUnavailable(Exception):
    """This key cannot be checked; the message says why in words."""


def _probe_details(result: live_check.ProbeResult) -> dict[str, Any]:
    return {
        "result": result.status.value,
        "http_status": result.http_status,
        "latency_ms": result.latency_ms,
    }


def _person(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


@sensitive_variables("url", "token")
def _stored_secret(credential: Credential) -> tuple[str, str]:
    if not live_check.live_check_available(credential.integration.provider):
        raise LiveCheckUnavailable(live_check.NO_LIVE_CHECK)
    if not credential.secret_stored:
        raise LiveCheckUnavailable(NOT_STORED)
    if credential.is_destroyed or not credential.token_ciphertext:
        raise LiveCheckUnavailable(
            "This version's secret was destroyed; there is nothing to check."
        )
    try:
        url = credential.unseal("scim_url_ciphertext")
        token = credential.unseal("token_ciphertext")
    except cipher.CryptoError as exc:
        raise LiveCheckUnavailable(str(exc)) from None
    if not url:
        raise LiveCheckUnavailable(
            "No SCIM base URL is saved with this key, so it cannot be checked."
        )
    return url, token


@sensitive_variables("url", "token")
def credential_check(
    *, credential: Credential, actor: Any, now: datetime, ip: str | None = None
) -> CredentialCheck:
    """Check ``credential`` with its vendor and record the result; returns the new check.

    ``actor`` is the person who asked, or None for the scheduled check. Raises
    ``LiveCheckUnavailable`` (nothing written). Must not be called inside a transaction: it
    waits for the vendor's answer (at most ``KEYVAULT_CHECK_TIMEOUT_SECONDS``).
    """
    url, token = _stored_secret(credential)
    result = live_check.scim_probe(base_url=url, token=token)
    del url, token
    person = _person(actor)
    with transaction.atomic():
        locked = Credential.objects.select_for_update().select_related("integration")
        locked_credential = locked.get(pk=credential.pk)
        previous = locked_credential.check_status
        check = CredentialCheck.objects.create(
            credential=locked_credential,
            checked_at=now,
            status=result.status,
            http_status=result.http_status,
            latency_ms=result.latency_ms,
            detail=result.detail[:300],
            checked_by=person,
        )
        locked_credential.check_status = result.status
        locked_credential.checked_at = now
        locked_credential.save(update_fields=["check_status", "checked_at"])
        if person is not None or previous != result.status:
            audit_append(
                action=AuditAction.CREDENTIAL_CHECKED,
                now=now,
                actor=person,
                integration=locked_credential.integration,
                target=locked_credential,
                ip=ip,
                details={
                    "hint": locked_credential.hint,
                    **_probe_details(result),
                    "previous": previous,
                    "scheduled": person is None,
                },
            )
        if (
            result.status == CheckStatus.REJECTED
            and previous != CheckStatus.REJECTED
            and locked_credential.state == CredentialState.CURRENT
        ):
            # The alert, at once, through the integration's channels; the check's id is the
            # occurrence, so it is owed once per check that turned the key rejected.
            notices_raise(
                credential=locked_credential,
                kind=NoticeKind.CHECK_REJECTED,
                key=str(check.pk),
                now=now,
            )
    credential.check_status = result.status
    credential.checked_at = now
    return check


@sensitive_variables("scim_url", "token")
def replacement_check(
    *,
    credential: Credential,
    scim_url: str,
    token: str,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> live_check.ProbeResult:
    """Try a pasted replacement for the current ``credential`` before it is committed.

    ``scim_url`` empty means the current credential's URL. Stores nothing but the audit event
    (never the token). Raises ``LiveCheckUnavailable`` (nothing written).
    """
    if not live_check.live_check_available(credential.integration.provider):
        raise LiveCheckUnavailable(live_check.NO_LIVE_CHECK)
    if not scim_url:
        scim_url, _ = _stored_secret(credential)
    result = live_check.scim_probe(base_url=scim_url, token=token)
    audit_append(
        action=AuditAction.REPLACEMENT_CHECKED,
        now=now,
        actor=_person(actor),
        integration=credential.integration,
        target=credential,
        ip=ip,
        details={"hint": credential.hint, **_probe_details(result)},
    )
    return result
