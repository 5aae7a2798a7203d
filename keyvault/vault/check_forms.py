"""The form behind the rotate page's "Test key": the pasted token, and the URL if one was typed.

It parses with the same rules as the paste itself (``keyvault.vault.validation``); the answer
is JSON and never holds the token or the URL.
"""

from __future__ import annotations

from typing import Any

from django import forms

from keyvault.models import Integration
from keyvault.vault import validation
from keyvault.vault.forms import scim_url_field, token_field
from keyvault.vault.providers import provider_for


class ReplacementCheckForm(forms.Form):
    token = token_field(label="New token")
    scim_url = scim_url_field()

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration

    def clean_token(self) -> str:
        return validation.clean_token(self.cleaned_data.get("token"))

    def clean_scim_url(self) -> str:
        raw = (self.cleaned_data.get("scim_url") or "").strip()
        if not raw:
            return ""  # keep the current credential's URL, as the rotation does
        return validation.clean_scim_url(raw, provider=provider_for(self.integration.provider))

    def error_messages(self) -> dict[str, list[str]]:
        """Field errors as plain messages, for the JSON answer."""
        return {
            field: [str(message) for error in errors.as_data() for message in error]
            for field, errors in self.errors.items()
        }
