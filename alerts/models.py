"""Reminder channels, the reminder outbox, and the scan heartbeat."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from keyvault.models import Credential, EncryptedFieldsMixin, Integration

#: Namespace of reminder idempotency keys (uuid5 of credential/threshold/channel).
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0c2a9e-7d1b-4c3e-9a8f-6b2d1e0c4a7f")


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook)"
    EMAIL = "email", "Email"


class Channel(EncryptedFieldsMixin, models.Model):
    """Where reminders go. A Slack webhook URL is a secret: stored encrypted, shown as a hint.

    Default channels receive reminders for every integration; others only for the
    integrations linked to them.
    """

    ENCRYPTED_FIELDS = ("webhook_ciphertext",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=200, unique=True)
    is_default = models.BooleanField(
        default=False, help_text="Receives reminders for every integration"
    )
    integrations = models.ManyToManyField(Integration, blank=True, related_name="channels")
    webhook_ciphertext = models.BinaryField(blank=True, default=b"")
    webhook_hint = models.CharField(max_length=40, blank=True)
    email_recipients = models.TextField(blank=True, help_text="Comma-separated addresses")
    email_to_owner = models.BooleanField(
        default=False, help_text="Also send to the integration owner's email address"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


class Reminder(models.Model):
    """Outbox row: one reminder owed for (credential, threshold, channel).

    ``threshold`` is days before expiry; overdue reminders use negative days (-1 = one day after
    expiry). The unique key makes repeated or concurrent scans harmless.
    """

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="reminders")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="reminders")
    threshold = models.IntegerField()
    status = models.CharField(
        max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    due_at = models.DateTimeField(help_text="When the threshold was crossed")
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a transient failure: not retried before this"
    )
    enqueued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its id was last handed to the broker (empty: not since it was opened)",
    )
    possible_duplicate = models.BooleanField(
        default=False,
        help_text="Sent again after an attempt whose outcome is unknown (its worker died)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "threshold", "channel"], name="one_reminder_per_threshold"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "claimed_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="reminder_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential_id} T{self.threshold} -> {self.channel_id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        """Stable for the reminder (credential, threshold, channel) whatever its attempts: sent
        with every message so a receiver that deduplicates can drop a resend."""
        name = f"{self.credential_id}/{self.threshold}/{self.channel_id}"
        return f"kvr_{uuid.uuid5(_IDEMPOTENCY_NAMESPACE, name).hex}"


class ScanHeartbeat(models.Model):
    """Single row: when the reminder scan last ran (the dashboard and /healthz read it)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_queued = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last scan {self.last_scan_at}"
