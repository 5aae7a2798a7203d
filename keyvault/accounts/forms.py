"""Forms of team access: the sign-in form (allauth's, with a username that is checked before
anything looks it up), the security key's answer at sign-in, the invitation and the role
change."""

from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms
from allauth.core import context
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.forms import AuthenticateWebAuthnForm
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from keyvault.models import Role
from keyvault.web.forms import NO_AUTOFILL, TextField, control_characters_validator


class LoginForm(allauth_forms.LoginForm):
    """allauth's sign-in form (field ``login``: the username) whose username is refused with a
    field error when it is longer than any username can be or holds control characters.

    An over-long or NUL-laden name must not reach ``authenticate`` and django-axes, whose
    attempt row (255 characters) PostgreSQL refused. A refused name is not a password check:
    nothing is audited or counted.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.label = "Username"
        field.widget.attrs.pop("placeholder", None)
        field.widget.attrs["autofocus"] = True
        self.fields["password"].help_text = ""  # no "forgot your password?": an admin re-invites
        max_length = getattr(field, "max_length", None) or 150
        field.validators += [MaxLengthValidator(max_length), control_characters_validator()]


class SecurityKeySignInForm(AuthenticateWebAuthnForm):
    """allauth's check of a security key's answer at sign-in, which also reports a refused
    answer as allauth reports a wrong code (``authentication_failed``), so that it is audited
    as a failed sign-in like one."""

    def clean_credential(self) -> Authenticator:
        try:
            return super().clean_credential()
        except ValidationError:
            mfa_signals.authentication_failed.send(
                sender=Authenticator,
                request=context.request,
                user=self.user,
                authenticator=Authenticator(user=self.user, type=Authenticator.Type.WEBAUTHN),
                reauthentication=False,
            )
            raise


_ROLE_CHOICES = [(Role.AUDITOR.value, "Auditor (read-only)"), (Role.ADMIN.value, "Admin")]


class InviteForm(forms.Form):
    """Who to invite, and in which role; the service checks the rest (uniqueness)."""

    username = TextField(
        max_length=150,
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={**NO_AUTOFILL, "autofocus": True}),
    )
    email = forms.EmailField(
        max_length=254,
        help_text="The set-password link is sent here.",
        validators=[control_characters_validator()],
    )
    role = forms.ChoiceField(choices=_ROLE_CHOICES, initial=Role.AUDITOR.value)

    def role_value(self) -> Role:
        return Role(self.cleaned_data["role"])


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=_ROLE_CHOICES)

    def role_value(self) -> Role:
        return Role(self.cleaned_data["role"])


class ConfirmForm(forms.Form):
    """A button with no fields (deactivate, reactivate, unlock, new link): the view puts a
    refusal from the service on it as a form error."""
