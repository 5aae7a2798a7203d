"""Pure status and days-left functions of (credential, now). No database access, no clock."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Protocol

from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    OK = "ok", "OK"
    DUE_SOON = "due_soon", "Due soon"
    EXPIRED = "expired", "Expired"
    ROTATED = "rotated", "Rotated"
    REVOKED = "revoked", "Revoked"
    MISSING = "missing", "No credential"


class _HasExpiry(Protocol):
    state: str
    expires_at: datetime


def days_left(expires_at: datetime, *, now: datetime, tz: tzinfo | None = None) -> int:
    """Whole calendar days from ``now`` to ``expires_at`` in local time (negative when past)."""
    tz = tz or timezone.get_current_timezone()
    return (expires_at.astimezone(tz).date() - now.astimezone(tz).date()).days


def credential_status(
    credential: _HasExpiry | None, *, now: datetime, due_soon_days: int, tz: tzinfo | None = None
) -> Status:
    """The status a dashboard shows for a credential version at ``now``."""
    from keyvault.models import CredentialState

    if credential is None:
        return Status.MISSING
    if credential.state == CredentialState.REVOKED:
        return Status.REVOKED
    if credential.state == CredentialState.SUPERSEDED:
        return Status.ROTATED
    if credential.expires_at <= now:
        return Status.EXPIRED
    if days_left(credential.expires_at, now=now, tz=tz) <= due_soon_days:
        return Status.DUE_SOON
    return Status.OK
