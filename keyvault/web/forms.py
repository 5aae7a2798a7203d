"""Form helpers every page shares: secret-safe widgets and the bridge from service errors.

Services raise ``ValidationError`` keyed by their own argument names; ``apply_service_errors``
is the one place that puts those errors onto a form's fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from keyvault.vault.leaks import LEAK_CODE

#: Attributes for inputs that receive secrets or addresses: no autofill, no spell check (which
#: can send the text to a dictionary service), no automatic capitals.
NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}

# Service error keys that name a form field differently.
_SERVICE_FIELD_NAMES = {"expires_at": "expires_on", "issued_at": "issued_on"}


class NoEchoTextInput(forms.TextInput):
    """A text input that never renders its submitted value back into the page."""

    def format_value(self, value: Any) -> str | None:
        return None


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the matching fields (unknown keys: whole form).

    A field refused because it holds a secret (code ``leaks.LEAK_CODE``) is emptied, so the
    page shown again does not carry the secret back to the browser.
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        field = _SERVICE_FIELD_NAMES.get(key, key)
        known = field in form.fields
        if known and any(error.code == LEAK_CODE for error in errors):
            # A mutable copy that keeps multi-valued fields (check boxes) as they were.
            data = form.data.copy() if isinstance(form.data, QueryDict) else dict(form.data)
            data[field] = ""
            form.data = data
        form.add_error(field if known else None, errors)
