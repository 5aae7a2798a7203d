"""The sign-in form: Django's, with a username that is checked before anything looks it up."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from keyvault.web.forms import control_characters_validator


class LoginForm(AuthenticationForm):
    """``AuthenticationForm`` whose username is refused with a field error when it is longer
    than any username can be or holds control characters.

    Django only sets ``max_length`` on the field (no validator), so an over-long or NUL-laden
    name went on to ``authenticate`` and to django-axes, whose attempt row (255 characters)
    PostgreSQL refused. A refused name is not a password check: nothing is audited or counted.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ``AuthenticationForm`` has just set the field's ``max_length`` from the user model.
        max_length = getattr(self.fields["username"], "max_length", None) or 150
        self.fields["username"].validators += [
            MaxLengthValidator(max_length),
            control_characters_validator(),
        ]
