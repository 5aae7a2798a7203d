"""The vault: integrations, credential versions, rotations and the audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from keyvault.crypto import cipher
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.expiry import lead_time_phrase
from keyvault.vault.providers import IdentityProvider, ProviderKind
from keyvault.vault.validation import validate_slack_member_id, validate_thresholds


class Role(models.TextChoices):
    """Django groups that carry keyvault's two roles."""

    ADMIN = "admin", "Admin"
    AUDITOR = "auditor", "Auditor"


class Integration(models.Model):
    """One thing that needs a credential, e.g. "Atlassian Cloud (acme) <- Okta SCIM"."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    provider = models.CharField(max_length=32, choices=ProviderKind.choices)
    identity_provider = models.CharField(
        max_length=32, choices=IdentityProvider.choices, default=IdentityProvider.OKTA
    )
    owner = models.CharField(max_length=200, blank=True, help_text="Person or team responsible")
    owner_email = models.EmailField(blank=True)
    owner_slack_id = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_slack_member_id],
        help_text="The owner's Slack member ID (U012ABCDEF): mentioned in Slack reminders",
    )
    notes = models.TextField(blank=True)
    reminder_thresholds = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_thresholds],
        help_text="Days before expiry, comma-separated; empty for the default",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was retired: hidden from the dashboard, no reminders, checks, "
        "notices, feed or metrics; its history is kept and it can be restored",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CredentialState(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"
    REVOKED = "revoked", "Revoked"


class EncryptedFieldsMixin(models.Model):
    """Secrets stored as AES-GCM ciphertext bound to table, field and row id.

    Subclasses list their ciphertext columns in ``ENCRYPTED_FIELDS``. Plaintext never sits on the
    instance: ``seal`` encrypts into the column, ``unseal`` decrypts on demand.
    """

    ENCRYPTED_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def aad(self, field: str) -> bytes:
        return f"{self._meta.db_table}.{field}.{self.pk}".encode()

    def seal(self, field: str, plaintext: str) -> None:
        assert field in self.ENCRYPTED_FIELDS
        sealed = cipher.encrypt(plaintext.encode(), self.aad(field)) if plaintext else b""
        setattr(self, field, sealed)

    def unseal(self, field: str) -> str:
        assert field in self.ENCRYPTED_FIELDS
        stored = getattr(self, field)
        if not stored:
            return ""
        # bytes(...) also accepts the memoryview some database drivers return for binary columns.
        return cipher.decrypt(bytes(stored), self.aad(field)).decode()


class Credential(EncryptedFieldsMixin, models.Model):
    """One version of an integration's secret (SCIM base URL + token, or an API key)."""

    ENCRYPTED_FIELDS = ("scim_url_ciphertext", "token_ciphertext")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="credentials"
    )
    state = models.CharField(
        max_length=16, choices=CredentialState.choices, default=CredentialState.CURRENT
    )
    scim_url_ciphertext = models.BinaryField(blank=True, default=b"")
    token_ciphertext = models.BinaryField(blank=True, default=b"")
    # Empty (null) only for a metadata-only version: its secret is kept elsewhere.
    fingerprint = models.CharField(max_length=64, unique=True, null=True, blank=True)
    hint = models.CharField(max_length=4, blank=True, help_text="Last 4 characters of the token")
    secret_stored = models.BooleanField(
        default=True,
        help_text="False: a metadata-only version (imported without its token); tracked and "
        "reminded like the rest, its secret is not stored here",
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    expiry_confirmed = models.BooleanField(
        default=True,
        help_text="False: saved with “expiry unknown — legacy key”; expires_at is the "
        "provider's worst case until someone confirms or corrects it",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    destroyed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the ciphertext was wiped (metadata kept)"
    )
    check_status = models.CharField(
        max_length=16,
        choices=CheckStatus.choices,
        blank=True,
        help_text="What the vendor said at the last live check; empty when never checked",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    idp_pending = models.BooleanField(
        default=False,
        help_text="Rotated in with “not yet” put into the identity provider, and not confirmed "
        "since; cleared by confirming, rotating again or revoking",
    )

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration"],
                condition=Q(state="current"),
                name="one_current_credential_per_integration",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("issued_at")),
                name="credential_expires_after_issue",
            ),
            models.CheckConstraint(
                condition=Q(secret_stored=True, fingerprint__isnull=False)
                | Q(secret_stored=False, fingerprint__isnull=True),
                name="credential_fingerprint_iff_secret_stored",
            ),
        ]
        indexes = [
            # Used by the reminder scan and the dashboard: current credentials by expiry.
            models.Index(
                fields=["expires_at"],
                condition=Q(state="current"),
                name="credential_current_expiry",
            ),
        ]

    def __str__(self) -> str:
        if not self.secret_stored:
            return f"{self.integration} (metadata only, {self.state})"
        return f"{self.integration} ···{self.hint} ({self.state})"

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None


class Rotation(models.Model):
    """Old credential -> new credential: who, when, why, and how early (negative = late)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="rotations")
    old_credential = models.OneToOneField(
        Credential, on_delete=models.PROTECT, related_name="rotated_to"
    )
    new_credential = models.OneToOneField(
        Credential, on_delete=models.PROTECT, related_name="rotated_from"
    )
    rotated_at = models.DateTimeField()
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    idp_updated = models.BooleanField(
        default=False, help_text="Identity provider was updated (as said at the rotation)"
    )
    idp_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the identity provider update was confirmed later"
    )
    lead_time_days = models.IntegerField(
        help_text="Days before the old credential's expiry; negative when rotated late"
    )

    class Meta:
        ordering = ["-rotated_at"]

    def __str__(self) -> str:
        return f"{self.integration} rotated {self.rotated_at:%Y-%m-%d}"

    @property
    def on_time(self) -> bool:
        return self.lead_time_days >= 0

    @property
    def lead_time_phrase(self) -> str:
        """“7 days early”, “on the day it expires”, “3 days late”."""
        return lead_time_phrase(self.lead_time_days)


class AuditAction(models.TextChoices):
    LOGIN = "auth.login", "Signed in"
    LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    LOGOUT = "auth.logout", "Signed out"
    INTEGRATION_CREATED = "integration.created", "Integration created"
    INTEGRATION_EDITED = "integration.edited", "Integration edited"
    INTEGRATION_ARCHIVED = "integration.archived", "Integration archived"
    INTEGRATION_RESTORED = "integration.restored", "Integration restored"
    CREDENTIAL_CREATED = "credential.created", "Credential created"
    CREDENTIAL_REVEALED = "credential.revealed", "Credential revealed"
    CREDENTIAL_REVEAL_DENIED = "credential.reveal_denied", "Credential reveal refused"
    CREDENTIAL_ROTATED = "credential.rotated", "Credential rotated"
    CREDENTIAL_REVOKED = "credential.revoked", "Credential revoked"
    CREDENTIAL_EDITED = "credential.edited", "Credential edited"
    CREDENTIAL_DESTROYED = "credential.destroyed", "Old credential destroyed"
    CREDENTIAL_DATES_CORRECTED = "credential.dates_corrected", "Credential dates corrected"
    CREDENTIAL_EXPIRY_CONFIRMED = "credential.expiry_confirmed", "Expiry date confirmed"
    CREDENTIAL_CHECKED = "credential.checked", "Credential checked with the vendor"
    CREDENTIAL_IDP_CONFIRMED = "credential.idp_confirmed", "Identity provider update confirmed"
    REPLACEMENT_CHECKED = "credential.replacement_checked", "Replacement key tested"
    CHANNEL_CREATED = "channel.created", "Channel created"
    CHANNEL_CHANGED = "channel.changed", "Channel changed"
    CHANNEL_DELETED = "channel.deleted", "Channel deleted"
    CHANNEL_TESTED = "channel.tested", "Channel test notification"
    REMINDER_SENT = "reminder.sent", "Reminder sent"
    REMINDER_FAILED = "reminder.failed", "Reminder failed"
    REMINDER_RETRIED = "reminder.retried", "Failed reminder retried"
    DIGEST_SENT = "digest.sent", "Weekly digest sent"
    DIGEST_FAILED = "digest.failed", "Weekly digest failed"
    NOTICE_SENT = "notice.sent", "Notice sent"
    NOTICE_FAILED = "notice.failed", "Notice failed"
    INTEGRATIONS_IMPORTED = "integration.imported", "Integrations imported"
    CALENDAR_FEED_CHANGED = "calendar.feed_changed", "Calendar feed address changed"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    ENCRYPTION_KEY_ROTATED = "crypto.key_rotated", "Secrets re-encrypted"
    USER_INVITED = "user.invited", "User invited"
    USER_CREATED = "user.created", "User created"
    USER_PASSWORD_SET = "user.password_set", "Password set from a link"
    USER_PASSWORD_CHANGED = "user.password_changed", "Password changed"
    USER_PASSWORD_CHANGE_REFUSED = "user.password_change_refused", "Password change refused"
    USER_ROLE_CHANGED = "user.role_changed", "Role changed"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_UNLOCKED = "user.unlocked", "User unlocked"
    USER_SSO_CREATED = "user.sso_created", "User created at their first SSO sign-in"
    USER_SSO_ROLE_CHANGED = "user.sso_role_changed", "Role changed by the identity provider"
    USER_SSO_REFUSED = "user.sso_refused", "SSO sign-in refused"
    USER_MFA_ENABLED = "user.mfa_enabled", "Two-factor authentication turned on"
    USER_MFA_DISABLED = "user.mfa_disabled", "Two-factor authentication turned off"
    USER_MFA_CODES_REGENERATED = "user.mfa_codes_regenerated", "New recovery codes"
    USER_MFA_RESET = "user.mfa_reset", "Two-factor authentication reset"
    API_TOKEN_CREATED = "api_token.created", "API token created"
    API_TOKEN_REVOKED = "api_token.revoked", "API token revoked"
    API_TOKEN_REMINDED = "api_token.reminded", "API token expiry reminder sent"
    API_REQUEST = "api.request", "API request with a write or reveal scope"


def audit_action_choices() -> list[tuple[str, str]]:
    """The choices of ``AuditEvent.action``, as a callable: migrations record the callable,
    so a new action needs no migration (and parallel work adding actions never conflicts)."""
    return AuditAction.choices


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """Append-only, hash-chained record of a state change. Never holds a secret.

    ``hash`` is SHA-256 over the row's content and ``prev_hash``; ``seq`` numbers the chain
    without gaps. Written only through ``keyvault.audit.audit_append``.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=audit_action_choices, db_index=True)
    integration = models.ForeignKey(
        Integration,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        # Related-object access and internal queries use the append-only manager too.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["integration", "-seq"], name="audit_integration_seq"),
            models.Index(fields=["actor", "-seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "-seq"], name="audit_action_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class CalendarFeed(models.Model):
    """A user's private calendar feed: the random token in its address, stored as SHA-256
    (the address is shown once, when made). One per user; a new one replaces the old."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"calendar feed of user {self.user_id}"


class AuditChainHead(models.Model):
    """Single row holding the chain's tip; locked by each append so writers never fork it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain head #{self.seq}"


# Models kept in their room's module; imported here so the app registers them.
from keyvault.api.models import ApiToken  # noqa: E402, F401
from keyvault.vault.check_models import CredentialCheck  # noqa: E402, F401
