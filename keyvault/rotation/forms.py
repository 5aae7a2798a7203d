"""Forms of the rotate, revoke and add-credential pages and of the audit log filter.

They parse input; the rules live in ``keyvault.rotation.services`` and
``keyvault.vault.services``. Secrets (token, SCIM URL) are never written back into the page: a
form shown again after an error asks for them again.

The rotate form leaves the SCIM URL empty and says "leave empty to keep the current URL"
instead of prefilling it: prefilling would put a secret (the URL carries the directory id) into
the HTML of every rotate page. The current URL is decrypted on the server only when the form is
submitted with the field empty.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyvault.audit.selectors import SEARCH_MAX_LENGTH, AuditFilter
from keyvault.models import AuditAction, Credential, CredentialState, Integration
from keyvault.rotation.services import REASON_MAX_LENGTH, rotation_secret_clean
from keyvault.vault import services
from keyvault.vault.forms import DateInput, NoEchoTextInput, apply_service_errors, local_midnight
from keyvault.vault.providers import provider_for

_NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}


def _token_field() -> forms.CharField:
    # Not ``required``: emptiness is judged by the shared rules (clearer messages).
    return forms.CharField(
        required=False,
        strip=False,
        label="New token",
        help_text="Paste it exactly as issued; surrounding spaces and line breaks are removed.",
        widget=forms.PasswordInput(render_value=False, attrs={**_NO_AUTOFILL, "required": True}),
    )


def _expires_field() -> forms.DateField:
    return forms.DateField(label="Expires on", required=False, widget=DateInput())


class _SecretForm(forms.Form):
    """Shared parts: after ``is_valid()`` the validated paste is in ``secret``."""

    def __init__(self, *args: Any, integration: Integration, now: datetime, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.now = now
        self.today = timezone.localdate(now)
        self.secret: services.SecretInput | None = None
        preset = provider_for(integration.provider)
        days = preset.lifetime_days
        self.fields[
            "expires_on"
        ].help_text = f"Leave empty for the usual lifetime: {days} days from today."

    def expires_at(self) -> datetime | None:
        expires_on: date | None = self.cleaned_data.get("expires_on")
        return local_midnight(expires_on) if expires_on else None


class RotateForm(_SecretForm):
    """Replacement token (and optionally URL) for the current credential."""

    credential = forms.UUIDField(widget=forms.HiddenInput)
    scim_url = forms.CharField(
        required=False,
        strip=False,
        label="SCIM base URL",
        help_text="Leave empty to keep the current URL (it is not shown here).",
        widget=NoEchoTextInput(attrs={**_NO_AUTOFILL, "inputmode": "url"}),
    )
    token = _token_field()
    expires_on = _expires_field()
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why now, e.g. “yearly rotation” or “owner left”. Never the secret itself.",
    )
    idp_updated = forms.BooleanField(required=False)

    def __init__(self, *args: Any, credential: Credential, **kwargs: Any) -> None:
        super().__init__(*args, integration=credential.integration, **kwargs)
        self.fields["credential"].initial = credential.pk
        self.replaced: Credential | None = None  # the version the submitted form replaces
        idp = self.integration.get_identity_provider_display()
        self.fields["idp_updated"].label = f"I have put the new token into {idp}"
        self.fields["idp_updated"].help_text = "Recorded with the rotation."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "expires_on" in self.errors or "credential" in self.errors:
            return cleaned
        credential_id: uuid.UUID = cleaned["credential"]
        credential = Credential.objects.filter(
            pk=credential_id, integration=self.integration
        ).first()
        if credential is None:
            raise ValidationError("This form is out of date; open the rotate page again.")
        if credential.state != CredentialState.CURRENT:
            # Rotated or revoked since the page was opened: say so before judging the paste.
            raise ValidationError(
                "This credential can no longer be rotated: it is %(state)s (someone else changed"
                " it a moment ago). Reload the integration and check its history.",
                code="not_current",
                params={"state": credential.get_state_display().lower()},
            )
        self.replaced = credential
        try:
            self.secret = rotation_secret_clean(
                credential=credential,
                scim_url=cleaned.get("scim_url"),
                token=cleaned.get("token"),
                expires_at=self.expires_at(),
                now=self.now,
            )
        except ValidationError as exc:
            apply_service_errors(self, exc)
        return cleaned


class CredentialAddForm(_SecretForm):
    """A new current credential for an integration that has none (after a revoke)."""

    scim_url = forms.CharField(
        required=False,
        strip=False,
        label="SCIM base URL",
        widget=NoEchoTextInput(attrs={**_NO_AUTOFILL, "inputmode": "url"}),
    )
    token = _token_field()
    expires_on = _expires_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        preset = provider_for(self.integration.provider)
        self.fields["token"].label = "Token"
        self.fields["scim_url"].widget.attrs["required"] = preset.url_required
        if preset.url_example:
            self.fields["scim_url"].help_text = f"Expected shape: {preset.url_example}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "expires_on" in self.errors:
            return cleaned
        try:
            self.secret = services.secret_input_clean(
                provider=self.integration.provider,
                scim_url=cleaned.get("scim_url"),
                token=cleaned.get("token"),
                issued_at=self.now,
                expires_at=self.expires_at(),
            )
        except ValidationError as exc:
            apply_service_errors(self, exc)
        return cleaned


class RevokeForm(forms.Form):
    credential = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log, e.g. “leaked in a support ticket”.",
    )


class AuditFilterForm(forms.Form):
    """The audit log's filters (GET). Invalid values are reported and otherwise ignored."""

    # A name, not a drop-down: listing every integration would make the page's cost grow with
    # their number. Links from other pages pass the integration's id instead.
    integration = forms.CharField(
        required=False,
        max_length=200,
        label="Integration",
        widget=forms.TextInput(attrs={"placeholder": "name, as on the dashboard"}),
    )
    actor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Who")
    action = forms.ChoiceField(required=False, label="Action")
    date_from = forms.DateField(required=False, label="From", widget=DateInput())
    date_to = forms.DateField(required=False, label="To", widget=DateInput())
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "user, id, details…"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor_field = self.fields["actor"]
        assert isinstance(actor_field, forms.ChoiceField)
        actor_field.choices = [("", "Anyone")] + [
            (str(pk), username)
            for pk, username in get_user_model()
            .objects.order_by("username")
            .values_list("pk", "username")
        ]
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)
        action_field.choices = [("", "Any action"), *AuditAction.choices]

    def clean_integration(self) -> uuid.UUID | None:
        """The integration named (case-insensitively) or identified by id, as its id."""
        value = self.cleaned_data["integration"].strip()
        if not value:
            return None
        try:
            matches = Integration.objects.filter(pk=uuid.UUID(value))
        except ValueError:
            matches = Integration.objects.filter(name__iexact=value)
        found = list(matches.values_list("pk", "name")[:10])
        exact = [match for match in found if match[1] == value]
        if len(found) > 1 and len(exact) == 1:
            found = exact
        if not found:
            raise forms.ValidationError("No integration has this name.")
        if len(found) > 1:
            raise forms.ValidationError(
                "Several integrations differ only in upper and lower case; type the name exactly."
            )
        pk, name = found[0]
        # Show the name in the box, also when the page was reached with an id.
        self.data = {**self.data, "integration": name}
        return pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilter:
        """The valid part of the input as a filter (an invalid field is left out)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return AuditFilter(
            integration_id=data.get("integration"),
            actor_id=data.get("actor"),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to") if "date_to" not in self.errors else None,
            q=(data.get("q") or "").strip(),
        )
