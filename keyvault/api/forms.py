"""The token page's form: a name, the scopes the user's role allows, a lifetime in days."""

from __future__ import annotations

from typing import Any

from django import forms

from keyvault.api.models import Scope
from keyvault.api.tokens import DEFAULT_LIFETIME, MAX_LIFETIME, NAME_MAX_LENGTH, scopes_allowed
from keyvault.web.forms import TextField


class ApiTokenForm(forms.Form):
    name = TextField(
        max_length=NAME_MAX_LENGTH,
        help_text="What will use it, e.g. “terraform” or “expiry report script”.",
    )
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        help_text="What it may do; never more than your role allows.",
    )
    days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=MAX_LIFETIME.days,
        initial=DEFAULT_LIFETIME.days,
        help_text=f"At most {MAX_LIFETIME.days} days. You are reminded before it expires.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = scopes_allowed(user)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = [(value, label) for value, label in Scope.choices if value in allowed]
        scopes.initial = [Scope.READ.value]
