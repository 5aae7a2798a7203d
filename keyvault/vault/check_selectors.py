"""Reads for live checks: which credentials the scheduled check asks about, and the history
of checks a page shows (never a secret: ``CredentialCheck`` holds none)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from keyvault.models import Credential
from keyvault.vault.check_models import CredentialCheck
from keyvault.vault.live_check import SCIM_CHECK_PROVIDERS, live_check_available
from keyvault.vault.selectors import tracked_q

CHECK_HISTORY_SIZE = 10


def credentials_to_check(*, integration_id: uuid.UUID | None = None) -> QuerySet[Credential]:
    """Current credentials of integrations not archived that hold a secret (not metadata-only,
    not destroyed) and whose provider has a live check (of one integration when
    ``integration_id`` is given), oldest check first."""
    qs = Credential.objects.select_related("integration").filter(
        tracked_q(),
        destroyed_at__isnull=True,
        secret_stored=True,
        integration__provider__in=SCIM_CHECK_PROVIDERS,
    )
    if integration_id is not None:
        qs = qs.filter(integration_id=integration_id)
    return qs.order_by("checked_at", "pk")


@dataclass(frozen=True)
class CheckHistory:
    """What an integration page shows of its current credential's live checks."""

    available: bool  # the provider has a live check
    checks: list[CredentialCheck]  # newest first, at most CHECK_HISTORY_SIZE


def check_history(*, provider: str, credential_id: uuid.UUID | None) -> CheckHistory:
    """The latest checks of ``credential_id`` (none when it is None)."""
    checks: list[CredentialCheck] = []
    if credential_id is not None:
        checks = list(
            CredentialCheck.objects.filter(credential_id=credential_id)
            .select_related("checked_by")
            .order_by("-checked_at")[:CHECK_HISTORY_SIZE]
        )
    return CheckHistory(available=live_check_available(provider), checks=checks)
