"""Periodic vault jobs (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from keyvault.audit.checkpoints import audit_checkpoint_write
from keyvault.rotation.services import credentials_destroy_expired_grace


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
