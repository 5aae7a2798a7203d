"""Form helpers every page shares: secret-safe widgets, the bridge from service errors, and the
fields that keep hostile input at the door.

Services raise ``ValidationError`` keyed by their own argument names; ``apply_service_errors``
is the one place that puts those errors onto a form's fields.

``TextField`` and ``DateField`` are the text and date inputs of every page: a text never carries
NUL or other control characters (PostgreSQL refuses NUL in text; the others have no business in
a name or a reason), and a date stays inside the years the code can add days to and convert
between time zones without overflowing.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import QueryDict

from keyvault.vault.leaks import LEAK_CODE

#: Attributes for inputs that receive secrets or addresses: no autofill, no spell check (which
#: can send the text to a dictionary service), no automatic capitals.
NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}

#: The range a date input accepts: far enough for any real credential, and a year away from the
#: ends of ``datetime`` so "the day after" and time-zone shifts stay representable.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(9998, 12, 31)
#: Line breaks and tabs a multi-line text may hold; every other control character is refused.
_MULTILINE_CONTROLS = frozenset("\t\n\r")

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


def control_characters_validator(*, multiline: bool = False) -> Any:
    """A validator refusing NUL and the other control characters (Unicode category ``Cc``);
    ``multiline`` lets tabs and line breaks through."""
    allowed = _MULTILINE_CONTROLS if multiline else frozenset()

    def validate(value: str) -> None:
        if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
            raise ValidationError(
                "Remove the control characters (such as NUL) from this text.",
                code="control_characters",
            )

    return validate


class TextField(forms.CharField):
    """A text input that refuses control characters with a field error (line breaks and tabs
    too, unless ``multiline``)."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(control_characters_validator(multiline=multiline))


class DateField(forms.DateField):
    """A date input (``YYYY-MM-DD`` picker) limited to ``DATE_MIN`` … ``DATE_MAX``."""

    widget = DateInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = f"Enter a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."
        self.validators += [
            MinValueValidator(DATE_MIN, message=message),
            MaxValueValidator(DATE_MAX, message=message),
        ]
