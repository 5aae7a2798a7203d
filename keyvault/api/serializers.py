"""What the API reads and writes. Secrets are write-only: no serializer here has a field that
outputs a token or a URL, except ``RevealedSecretSerializer`` (the reveal endpoint only).

Input serializers check shape and types; the rules (names taken, URL shapes, expiry limits,
tokens pasted into free text) are the services', whose errors come back per field.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alerts.models import ReminderStatus
from keyvault.models import CredentialState, Integration
from keyvault.rotation.idp import IDP_CHOICES
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.expiry import Status
from keyvault.vault.forms import NOTES_MAX_LENGTH
from keyvault.vault.providers import IdentityProvider, ProviderKind
from keyvault.vault.selectors import CredentialFacts
from keyvault.vault.services import INTEGRATION_FIELDS
from keyvault.web.forms import DATE_MAX, DATE_MIN, control_characters_validator

_ONE_LINE = [control_characters_validator()]
_MULTILINE = [control_characters_validator(multiline=True)]


class CredentialSerializer(serializers.Serializer):
    """A credential version by its identifiers and dates (``hint``: last 4 characters)."""

    id = serializers.UUIDField(source="credential.id")
    state = serializers.ChoiceField(source="credential.state", choices=CredentialState.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    hint = serializers.CharField(source="credential.hint")
    fingerprint = serializers.CharField(
        source="fingerprint_short", help_text="First 16 hex digits of the keyed fingerprint"
    )
    issued_at = serializers.DateTimeField(source="credential.issued_at")
    expires_at = serializers.DateTimeField(source="credential.expires_at")
    expiry_confirmed = serializers.BooleanField(
        source="credential.expiry_confirmed",
        help_text="False: expires_at is the provider's worst case, not confirmed",
    )
    days_left = serializers.IntegerField(help_text="Calendar days to expiry; negative: expired")
    idp_pending = serializers.BooleanField(
        source="credential.idp_pending",
        help_text='True: rotated in with idp_updated "not_yet" and not confirmed since (the '
        '"IdP not updated" badge)',
    )
    check_status = serializers.ChoiceField(
        source="credential.check_status",
        choices=CheckStatus.choices,
        allow_blank=True,
        help_text="What the vendor said at the last live check; empty: never checked",
    )
    checked_at = serializers.DateTimeField(source="credential.checked_at", allow_null=True)
    superseded_at = serializers.DateTimeField(source="credential.superseded_at", allow_null=True)
    revoked_at = serializers.DateTimeField(source="credential.revoked_at", allow_null=True)
    secret_destroyed = serializers.BooleanField(source="credential.is_destroyed")


class IntegrationSerializer(serializers.Serializer):
    """An integration's metadata (everything but secrets)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    provider = serializers.ChoiceField(choices=ProviderKind.choices)
    identity_provider = serializers.ChoiceField(choices=IdentityProvider.choices)
    owner = serializers.CharField()
    owner_email = serializers.CharField()
    owner_slack_id = serializers.CharField()
    notes = serializers.CharField()
    reminder_thresholds = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when archived: no reminders, in the list only with `archived=true`",
    )


class IntegrationRowSerializer(serializers.Serializer):
    """A list row: the integration and its shown credential (the current one, else the latest
    version; null when it has none)."""

    integration = IntegrationSerializer()
    credential = CredentialSerializer(source="facts", allow_null=True)


class IntegrationListSerializer(serializers.Serializer):
    results = IntegrationRowSerializer(many=True, source="rows")
    next = serializers.CharField(
        source="next_cursor", allow_null=True, help_text="The `cursor` of the next page"
    )


class IntegrationDetailSerializer(serializers.Serializer):
    integration = IntegrationSerializer()
    current = CredentialSerializer(allow_null=True)
    versions = CredentialSerializer(many=True)


def facts_data(facts: CredentialFacts | None) -> dict[str, Any] | None:
    return CredentialSerializer(facts).data if facts is not None else None


class IntegrationFieldsSerializer(serializers.Serializer):
    """Integration metadata as input (all optional on edit)."""

    name = serializers.CharField(max_length=200, validators=_ONE_LINE)
    provider = serializers.ChoiceField(choices=ProviderKind.choices)
    identity_provider = serializers.ChoiceField(
        choices=IdentityProvider.choices, default=IdentityProvider.OKTA
    )
    owner = serializers.CharField(
        max_length=200, required=False, allow_blank=True, validators=_ONE_LINE
    )
    owner_email = serializers.EmailField(required=False, allow_blank=True)
    owner_slack_id = serializers.CharField(
        max_length=20, required=False, allow_blank=True, validators=_ONE_LINE
    )
    notes = serializers.CharField(
        max_length=NOTES_MAX_LENGTH,
        required=False,
        allow_blank=True,
        validators=[control_characters_validator(multiline=True)],
    )
    reminder_thresholds = serializers.CharField(
        max_length=100, required=False, allow_blank=True, validators=_ONE_LINE
    )

    def fields_for_service(self) -> dict[str, Any]:
        return {k: v for k, v in self.validated_data.items() if k in INTEGRATION_FIELDS}


class SecretSerializer(serializers.Serializer):
    """A credential to store. ``scim_url`` and ``token`` are write-only."""

    scim_url = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False, max_length=2048
    )
    token = serializers.CharField(write_only=True, trim_whitespace=False, max_length=8192)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Default: the provider's usual lifetime"
    )
    expiry_unknown = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A legacy key of unknown expiry: the provider's worst-case date is assumed "
        "(unconfirmed); give no expires_at with it",
    )


class IntegrationCreateSerializer(IntegrationFieldsSerializer):
    credential = SecretSerializer(help_text="The first credential (write-only secrets)")
    issued_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the credential was issued; default now"
    )


class RotateSerializer(SecretSerializer):
    credential = serializers.UUIDField(
        required=False, help_text="The version being replaced (refused if no longer current)"
    )
    scim_url = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=2048,
        help_text="Empty or absent: keep the current URL",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, validators=_MULTILINE
    )
    idp_updated = serializers.ChoiceField(
        choices=IDP_CHOICES,
        help_text="Is the new key in the identity provider? Required: “yes”, or “not_yet” "
        "(the integration then shows “IdP not updated” and its channels are reminded the "
        "next day, until someone confirms it).",
    )
    expiry_unknown = None  # type: ignore[assignment]  # a new key's expiry is known


class RevokeSerializer(serializers.Serializer):
    credential = serializers.UUIDField(
        required=False, help_text="The version being revoked (refused if no longer current)"
    )
    reason = serializers.CharField(max_length=500, validators=_MULTILINE)


class CorrectDatesSerializer(serializers.Serializer):
    """New dates for the current credential; an absent date stays as it is."""

    issued_at = serializers.DateTimeField(required=False, help_text="Default: unchanged")
    expires_at = serializers.DateTimeField(required=False, help_text="Default: unchanged")
    reason = serializers.CharField(max_length=500, validators=_MULTILINE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {
            name: [f"Give a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."]
            for name in ("issued_at", "expires_at")
            if name in attrs and not DATE_MIN <= attrs[name].date() <= DATE_MAX
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RotationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rotated_at = serializers.DateTimeField()
    lead_time_days = serializers.IntegerField(
        help_text="Days before the old expiry; negative: late"
    )
    old_credential = serializers.UUIDField(source="old_credential_id")
    new_credential = serializers.UUIDField(source="new_credential_id")


class RevealedSecretSerializer(serializers.Serializer):
    """The one response that holds a secret (reveal scope, admin, audited)."""

    scim_url = serializers.CharField()
    token = serializers.CharField()


class ReminderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    integration = serializers.UUIDField(source="credential.integration_id")
    integration_name = serializers.CharField(source="credential.integration.name")
    credential = serializers.UUIDField(source="credential_id")
    channel = serializers.UUIDField(source="channel_id")
    channel_name = serializers.CharField(source="channel.name")
    threshold = serializers.IntegerField(help_text="Days before expiry; negative: after")
    status = serializers.ChoiceField(choices=ReminderStatus.choices)
    due_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


class ReminderListSerializer(serializers.Serializer):
    results = ReminderSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class AuditEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    sentence = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    actor_id = serializers.IntegerField(allow_null=True)
    integration = serializers.UUIDField(source="integration_id", allow_null=True)
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    details = serializers.DictField()
    hash = serializers.CharField()


class AuditPageSerializer(serializers.Serializer):
    results = AuditEventSerializer(many=True)
    older = serializers.IntegerField(allow_null=True, help_text="`before=` of the older page")
    newer = serializers.IntegerField(allow_null=True, help_text="`after=` of the newer page")


class FiguresSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    rotated = serializers.IntegerField()
    revoked = serializers.IntegerField()
    late = serializers.IntegerField()
    on_time = serializers.IntegerField()
    on_time_percent = serializers.IntegerField(allow_null=True)
    worst_lapse_days = serializers.IntegerField(allow_null=True)
    mean_lapse_days = serializers.FloatField(allow_null=True)
    mean_lead_days = serializers.FloatField(allow_null=True)
    worst_lead_days = serializers.IntegerField(allow_null=True)


class ExpiredSerializer(serializers.Serializer):
    integration = serializers.UUIDField(source="integration.id")
    name = serializers.CharField(source="integration.name")
    expires_at = serializers.DateTimeField(source="current_expires_at")


class MonthSerializer(serializers.Serializer):
    month = serializers.DateField(source="start")
    count = serializers.IntegerField()


class ComplianceSerializer(serializers.Serializer):
    date_from = serializers.DateField(source="range.start")
    date_to = serializers.DateField(source="range.end")
    overall = FiguresSerializer()
    expired_count = serializers.IntegerField()
    expired = ExpiredSerializer(many=True)
    timeline = MonthSerializer(many=True)


def integration_data(integration: Integration) -> dict[str, Any]:
    return IntegrationSerializer(integration).data
