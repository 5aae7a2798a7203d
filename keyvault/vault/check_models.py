"""What live checks found: the state of a check and the history of checks per credential.

Imported by ``keyvault.models`` so the app registers ``CredentialCheck``; this module imports
nothing of the app's models (``Credential`` is named by its label) so either may load first.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class CheckStatus(models.TextChoices):
    """What the vendor said when keyvault last asked it. Blank on a credential: never checked."""

    VALID = "valid", "Valid"
    # 401/403: the vendor no longer accepts this key (regenerated or revoked).
    REJECTED = "rejected", "Rejected by the vendor"
    # DNS, TLS, timeout, 5xx, a refused address: transient, or the URL is wrong.
    UNREACHABLE = "unreachable", "Unreachable"


REJECTED_MESSAGE = "The vendor no longer accepts this key — regenerated or revoked?"


def result_message(status: str, detail: str) -> str:
    """One sentence for a page: the result of a check and why."""
    if status == CheckStatus.VALID:
        return "Valid: the vendor accepts this key."
    if status == CheckStatus.REJECTED:
        return "Rejected: the vendor no longer accepts this key — regenerated or revoked?"
    return f"Unreachable: {detail or 'no answer'}."


class CredentialCheck(models.Model):
    """One live check of a credential: when, what came of it, how long it took.

    Holds no part of the token, the URL or the vendor's answer: ``detail`` is keyvault's own
    words about the outcome.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential = models.ForeignKey(
        "keyvault.Credential", on_delete=models.CASCADE, related_name="checks"
    )
    checked_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the scheduled check",
    )

    class Meta:
        ordering = ["-checked_at"]
        indexes = [
            models.Index(fields=["credential", "-checked_at"], name="check_credential_time"),
        ]

    def __str__(self) -> str:
        return f"{self.credential_id} {self.status} at {self.checked_at:%Y-%m-%d %H:%M}"

    @property
    def message(self) -> str:
        return result_message(self.status, self.detail)
