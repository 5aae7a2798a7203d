"""Periodic vault jobs (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from keyvault.rotation.services import credentials_destroy_expired_grace


@shared_task(name="keyvault.tasks.destroy_retired_secrets")
def destroy_retired_secrets() -> int:
    """Wipe the ciphertext of versions retired longer than the grace period; returns the count."""
    return credentials_destroy_expired_grace(now=timezone.now())
