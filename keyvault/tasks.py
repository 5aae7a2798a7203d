"""Periodic vault jobs (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from keyvault.api.reminders import api_tokens_remind
from keyvault.audit.checkpoints import audit_checkpoint_write
from keyvault.rotation.idp import idp_reminders_raise
from keyvault.rotation.services import credentials_destroy_expired_grace
from keyvault.vault.check_selectors import credentials_to_check
from keyvault.vault.checks import LiveCheckUnavailable, credential_check
from keyvault.vault.unconfirmed import expiry_confirm_reminders_raise


@shared_task(name="keyvault.tasks.destroy_retired_secrets")
def destroy_retired_secrets() -> int:
    """Wipe the ciphertext of versions retired longer than the grace period; returns the count."""
    return credentials_destroy_expired_grace(now=timezone.now())


@shared_task(name="keyvault.tasks.write_audit_checkpoint")
def write_audit_checkpoint() -> int | None:
    """Sign the audit chain head and append it to the checkpoint file; returns its row (None
    while the log is empty)."""
    checkpoint = audit_checkpoint_write(now=timezone.now())
    return checkpoint.seq if checkpoint is not None else None


@shared_task(name="keyvault.tasks.check_credentials")
def check_credentials() -> int:
    """Daily: hand each current key that has a live check to ``check_credential``, one task
    per credential (by id) so a slow vendor holds up only its own; returns how many."""
    ids = [str(pk) for pk in credentials_to_check().values_list("pk", flat=True)]
    for credential_id in ids:
        check_credential.delay(credential_id)
    return len(ids)


@shared_task(name="keyvault.tasks.check_credential")
def check_credential(credential_id: str) -> str:
    """Check one credential with its vendor; returns the result ("" when it cannot be)."""
    credential = credentials_to_check().filter(pk=credential_id).first()
    if credential is None:
        return ""  # rotated, revoked or destroyed since it was queued
    try:
        check = credential_check(credential=credential, actor=None, now=timezone.now())
    except LiveCheckUnavailable:
        return ""
    return str(check.status)


@shared_task(name="keyvault.tasks.remind_api_token_expiry")
def remind_api_token_expiry() -> int:
    """Email the owners of API tokens that cross a reminder threshold; returns how many."""
    return api_tokens_remind(now=timezone.now())


@shared_task(name="keyvault.tasks.remind_idp_not_updated")
def remind_idp_not_updated() -> int:
    """Remind the channels of keys rotated in a day ago with "not yet" put into the identity
    provider; returns how many notices were raised."""
    return idp_reminders_raise(now=timezone.now())


@shared_task(name="keyvault.tasks.remind_expiry_unconfirmed")
def remind_expiry_unconfirmed() -> int:
    """Ask the channels of keys saved with "expiry unknown" to confirm the date, once a week;
    returns how many notices were raised."""
    return expiry_confirm_reminders_raise(now=timezone.now())
