"""Forms of the rotate, revoke and add-credential pages.

They parse input; the rules live in ``keyvault.rotation.services`` and
``keyvault.vault.credentials``. The token is never written back into the page:
a form shown again after an error asks for it again; a URL the user typed comes back filled
unless the provider says its URL is a secret (see ``keyvault.vault.forms``).

The rotate form leaves the URL empty and says "leave empty to keep the current URL"
instead of prefilling it: prefilling would put the stored URL (it carries the directory id)
into the HTML of every rotate page. The current URL is decrypted on the server only when the form is
submitted with the field empty.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyvault.models import Credential, Integration
from keyvault.rotation import selectors, services
from keyvault.rotation.idp import IDP_CHOICES, idp_answer
from keyvault.vault import credentials
from keyvault.vault.expiry import local_midnight
from keyvault.vault.forms import (
    describe_secret_fields,
    expires_on_field,
    expiry_unknown_field,
    paste_again_note,
    scim_url_field,
    token_field,
)
from keyvault.vault.providers import IdentityProvider, identity_provider_words, provider_for
from keyvault.web.forms import TextField, apply_service_errors


class _ActsOnCurrent(forms.Form):
    """A form that acts on the version that was current when the page was opened.

    The page sends that version's id; after ``is_valid()`` it is in ``target``. A version that
    is gone (or belongs to another integration) makes the form "out of date".
    """

    credential = forms.UUIDField(widget=forms.HiddenInput)
    page = ""  # named in the "out of date" message

    def __init__(self, *args: Any, credential: Credential, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration: Integration = credential.integration
        self.fields["credential"].initial = credential.pk
        self.target: Credential | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        credential_id: uuid.UUID | None = cleaned.get("credential")
        if credential_id is not None:
            self.target = selectors.credential_of(
                integration=self.integration, credential_id=credential_id
            )
            if self.target is None:
                self.add_error(None, f"This form is out of date; open the {self.page} page again.")
        return cleaned


class _PasteForm(forms.Form):
    """A new credential for ``integration``; after ``is_valid()`` the paste is in ``secret``."""

    token = token_field(label="New token")
    expires_on = expires_on_field()

    def __init__(self, *args: Any, integration: Integration, now: datetime, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.now = now
        self.today = timezone.localdate(now)
        self.secret: credentials.SecretInput | None = None
        preset = provider_for(integration.provider)
        self.paste_again = paste_again_note(preset)
        days = preset.lifetime_days
        self.fields[
            "expires_on"
        ].help_text = f"Leave empty for the usual lifetime: {days} days from today."

    def expires_at(self) -> datetime | None:
        expires_on: date | None = self.cleaned_data.get("expires_on")
        return local_midnight(expires_on) if expires_on else None


class RotateForm(_ActsOnCurrent, _PasteForm):
    """Replacement token (and optionally URL) for the current credential."""

    page = "rotate"
    scim_url = scim_url_field(
        help_text="Leave empty to keep the current URL (it is not shown here)."
    )
    reason = TextField(
        multiline=True,
        required=False,
        max_length=services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why now, e.g. “yearly rotation” or “owner left”. Never the secret itself.",
    )
    idp_updated = forms.TypedChoiceField(
        choices=IDP_CHOICES, coerce=idp_answer, widget=forms.RadioSelect, required=True
    )

    def __init__(self, *args: Any, credential: Credential, now: datetime, **kwargs: Any) -> None:
        super().__init__(
            *args, credential=credential, integration=credential.integration, now=now, **kwargs
        )
        describe_secret_fields(self, provider_for(self.integration.provider), replacement=True)
        if not credential.secret_stored:
            self.fields["scim_url"].help_text = (
                "No URL is stored for this version (metadata only): paste it if the provider "
                "has one."
            )
        idp = identity_provider_words(self.integration.identity_provider)
        if self.integration.identity_provider == IdentityProvider.NONE:
            idp = "every place that uses it"  # no identity provider: wherever the key is used
        field = self.fields["idp_updated"]
        field.label = f"Is the new key in {idp}?"
        field.help_text = (
            "“Not yet” shows “IdP not updated” on the dashboard until someone confirms it, and "
            "reminds the integration's channels the next day."
        )
        field.error_messages["required"] = (
            f"Say whether {idp} has the new key: choose “yes” or “not yet”."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.target is None or "expires_on" in self.errors:
            return cleaned
        # Rotated or revoked since the page was opened: say so before judging the paste.
        services.credential_ensure_current(credential=self.target, verb="rotated")
        try:
            self.secret = services.rotation_secret_clean(
                credential=self.target,
                scim_url=cleaned.get("scim_url"),
                token=cleaned.get("token"),
                expires_at=self.expires_at(),
                now=self.now,
            )
        except ValidationError as exc:
            apply_service_errors(self, exc)
        return cleaned


class CredentialAddForm(_PasteForm):
    """A new current credential for an integration that has none (after a revoke)."""

    scim_url = scim_url_field()
    token = token_field()
    expiry_unknown = expiry_unknown_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        describe_secret_fields(self, provider_for(self.integration.provider))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "expires_on" in self.errors:
            return cleaned
        try:
            self.secret = credentials.secret_input_clean(
                provider=self.integration.provider,
                scim_url=cleaned.get("scim_url"),
                token=cleaned.get("token"),
                issued_at=self.now,
                expires_at=self.expires_at(),
                expiry_unknown=cleaned.get("expiry_unknown", False),
            )
        except ValidationError as exc:
            apply_service_errors(self, exc)
        return cleaned


class RevokeForm(_ActsOnCurrent):
    page = "revoke"
    reason = TextField(
        multiline=True,
        max_length=services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log, e.g. “leaked in a support ticket”.",
    )


class IdpConfirmForm(_ActsOnCurrent):
    """ "The identity provider now has the new key", for the version shown on the page."""

    page = "integration"
