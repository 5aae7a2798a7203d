"""Reads for the rotation pages: the integration with its current credential, the version a
submitted form names, and an integration's history. None of them loads ciphertext."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from keyvault.models import Credential, CredentialState, Integration, Rotation
from keyvault.vault.selectors import CREDENTIAL_COLUMNS


def integration_with_current(*, integration_id: uuid.UUID) -> tuple[Integration, Credential | None]:
    """The integration (404 when unknown) and its current credential, or None when it has none.

    The credential is loaded whole: the rotate flow may decrypt its URL to keep it.
    """
    integration = get_object_or_404(Integration, pk=integration_id)
    current = (
        Credential.objects.filter(integration=integration, state=CredentialState.CURRENT)
        .select_related("integration")
        .first()
    )
    return integration, current


def credential_of(*, integration: Integration, credential_id: uuid.UUID) -> Credential | None:
    """The version ``credential_id`` of ``integration`` in any state, or None (a form out of
    date names a version that is gone, or one of another integration)."""
    return (
        Credential.objects.filter(pk=credential_id, integration=integration)
        .select_related("integration")
        .first()
    )


@dataclass(frozen=True)
class IntegrationHistory:
    integration: Integration
    versions: list[Credential]  # newest first, ciphertext columns not loaded
    rotations: list[Rotation]  # newest first


_HISTORY_CREDENTIAL_COLUMNS = (
    *CREDENTIAL_COLUMNS,
    "created_by",
    "created_by__username",
    "revoke_reason",
)


def integration_history(*, integration_id: uuid.UUID) -> IntegrationHistory:
    """Every credential version and every rotation of an integration; 404 when unknown."""
    integration = get_object_or_404(Integration, pk=integration_id)
    versions = list(
        Credential.objects.filter(integration=integration)
        .select_related("created_by")
        .only(*_HISTORY_CREDENTIAL_COLUMNS)
        .order_by("-issued_at", "-created_at")
    )
    rotations = list(
        Rotation.objects.filter(integration=integration)
        .select_related("rotated_by", "old_credential", "new_credential")
        .only(
            "id",
            "integration_id",
            "rotated_at",
            "reason",
            "idp_updated",
            "idp_confirmed_at",
            "lead_time_days",
            "rotated_by",
            "rotated_by__username",
            "old_credential",
            "new_credential",
            "old_credential__hint",
            "old_credential__secret_stored",
            "old_credential__expires_at",
            "new_credential__hint",
            "new_credential__secret_stored",
            "new_credential__expires_at",
            "new_credential__state",
            "new_credential__idp_pending",
        )
        .order_by("-rotated_at")
    )
    return IntegrationHistory(integration=integration, versions=versions, rotations=rotations)
