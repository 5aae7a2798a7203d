"""Reminder channels, the reminder outbox, and the scan heartbeat."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from keyvault.models import Credential, EncryptedFieldsMixin, Integration

#: Namespace of reminder idempotency keys (uuid5 of credential/threshold/channel).
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0c2a9e-7d1b-4c3e-9a8f-6b2d1e0c4a7f")
#: Namespace of weekly digest idempotency keys (uuid5 of channel/week).
_DIGEST_NAMESPACE = uuid.UUID("0b7e3f52-9c4d-4a1e-8f26-3d5c7a9e1b40")


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook)"
    EMAIL = "email", "Email"


class Weekday(models.IntegerChoices):
    """Days of the week as ``date.weekday()`` numbers them."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Channel(EncryptedFieldsMixin, models.Model):
    """Where reminders go. A Slack webhook URL is a secret: stored encrypted, shown as a hint.

    Default channels receive reminders for every integration; others only for the
    integrations linked to them. ``escalate_from_days`` narrows which reminders: a channel
    receives the thresholds at most that many days before expiry, and every overdue one
    (empty: every threshold). A channel with ``digest_weekday`` set also gets a weekly digest
    at ``digest_hour`` on that day, in ``TIME_ZONE``.
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
    escalate_from_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(3650)],
        help_text="Receives reminders from this many days before expiry on, and every overdue "
        "one; empty: every reminder",
    )
    digest_weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=Weekday.choices,
        help_text="Day of the weekly digest, in TIME_ZONE; empty: no digest",
    )
    digest_hour = models.PositiveSmallIntegerField(
        default=9, validators=[MaxValueValidator(23)], help_text="Hour of the weekly digest"
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


class Digest(models.Model):
    """Outbox row of one weekly digest: (channel, week) unique, so a channel gets at most one
    digest a week however many scans, beats or workers run.

    ``week`` is the Monday (local date, ``TIME_ZONE``) of the week the digest was scheduled in;
    ``due_at`` the scheduled moment. The content is put together when it is sent. Statuses and
    delivery bookkeeping are a reminder's (``ReminderStatus``, claim, backoff, stale claims).
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="digests")
    week = models.DateField(help_text="Monday of the week, local date")
    status = models.CharField(
        max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    due_at = models.DateTimeField(help_text="When the digest was scheduled")
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    possible_duplicate = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "week"], name="one_digest_per_week"),
        ]

    def __str__(self) -> str:
        return f"digest {self.week} -> {self.channel_id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        """Stable for the digest (channel, week) whatever its attempts."""
        name = f"{self.channel_id}/{self.week.isoformat()}"
        return f"kvd_{uuid.uuid5(_DIGEST_NAMESPACE, name).hex}"


class ScanHeartbeat(models.Model):
    """Single row: when the reminder scan last ran (the dashboard and /healthz read it)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_queued = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last scan {self.last_scan_at}"
