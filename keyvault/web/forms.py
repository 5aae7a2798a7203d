"""Form helpers every page shares: secret-safe widgets and the bridge from service errors.

Services raise ``ValidationError`` keyed by their own argument names; ``apply_service_errors``
is the one place that puts those errors onto a form's fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

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
    """Put a service's ``ValidationError`` on the matching fields (unknown keys: whole form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        field = _SERVICE_FIELD_NAMES.get(key, key)
        form.add_error(field if field in form.fields else None, errors)
