"""API tokens: a user's hashed, expiring, scoped keys to the REST API.

Imported at the bottom of ``keyvault.models`` so the ``keyvault`` app registers the model.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models


class Scope(models.TextChoices):
    """What a token may do, on top of what its owner's role allows."""

    READ = "read", "Read metadata"
    WRITE = "write", "Change integrations and credentials"
    REVEAL = "reveal", "Reveal secrets"


class ApiToken(models.Model):
    """A bearer token for the API, shown once when created and stored as its SHA-256.

    The token carries its owner's role (checked at every use, so a demoted or deactivated owner's
    tokens lose their power at once) narrowed by ``scopes``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, shown")
    key_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token")
    scopes = models.CharField(max_length=40, help_text="Comma-separated scopes")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reminded_days = models.IntegerField(
        null=True, blank=True, help_text="The last expiry threshold (days) the owner was told of"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Used by the expiry reminders: live tokens by expiry.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_live_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    @property
    def scope_names(self) -> str:
        """“read, write”: for pages."""
        return ", ".join(sorted(self.scope_set))

    def is_live(self, *, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
