"""Forms of the vault pages. They parse input; the rules live in ``keyvault.vault.services``
and ``keyvault.vault.credentials``.

Dates to datetimes (local time zone, ``settings.TIME_ZONE``):

* issue date = today  -> ``now``: a credential pasted the moment it is issued counts from now,
  so an Atlassian key pasted today "expires in 365 days".
* issue date earlier  -> local midnight at the start of that day.
* expiry date         -> local midnight at the start of that day: the conservative reading
  ("expires on 1 March" means it may stop working on 1 March), so reminders come early.
* no expiry date      -> issued + the provider's lifetime (``keyvault.vault.providers``).

The token is never written back into the page: a form shown again after an error asks for it
again (``paste_again_note``). The URL the user typed comes back filled, unless the provider says
its URL is a secret (``Provider.url_secret``). With the page's script on, the form is sent
without a page load and nothing is shown again (``keyvault.web.inplace``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from keyvault.accounts.mfa import SECURITY_KEY, TOTP
from keyvault.models import Integration
from keyvault.vault import credentials
from keyvault.vault.expiry import local_midnight
from keyvault.vault.providers import PROVIDERS, IdentityProvider, Provider, ProviderKind
from keyvault.vault.validation import validate_slack_member_id, validate_thresholds
from keyvault.web.dates import day_text
from keyvault.web.forms import (
    NO_AUTOFILL,
    DateField,
    NoEchoTextInput,
    TextField,
    apply_service_errors,
)


def scim_url_field(**kwargs: Any) -> forms.CharField:
    """The URL input: no autofill; shown again filled after an error unless the provider says
    its URL is a secret (``describe_secret_fields``)."""
    # Not ``required`` here: emptiness is judged by the shared rules in
    # ``keyvault.vault.validation`` (whose messages are clearer); the browser still gets
    # ``required`` where the provider needs a URL.
    return forms.CharField(
        required=False,
        strip=False,
        label="SCIM base URL",
        widget=forms.TextInput(attrs={**NO_AUTOFILL, "inputmode": "url"}),
        **kwargs,
    )


def token_field(*, label: str = "Token") -> forms.CharField:
    """The token input: a password box that never renders a value, required in the browser."""
    return forms.CharField(
        required=False,
        strip=False,
        label=label,
        help_text="Paste it exactly as issued; surrounding spaces and line breaks are removed.",
        widget=forms.PasswordInput(render_value=False, attrs={**NO_AUTOFILL, "required": True}),
    )


def describe_secret_fields(
    form: forms.Form, preset: Provider, *, replacement: bool = False
) -> None:
    """Label the URL and token inputs in the provider's words (“Directory base URL”, “API
    key”) and say which URL shape it expects; ``replacement`` for the rotate form."""
    url, token = form.fields["scim_url"], form.fields["token"]
    if preset.url_secret:
        url.widget = NoEchoTextInput(attrs=url.widget.attrs)
    url.label = preset.url_label
    token.label = f"New {preset.key_words}" if replacement else preset.key_label
    if replacement:
        return  # the rotate form's URL help says the current URL is kept
    url.widget.attrs["required"] = preset.url_required
    url.help_text = (
        f"Expected shape: {preset.url_example}"
        if preset.url_example
        else "Where the identity provider sends provisioning requests."
    )


def paste_again_note(preset: Provider) -> str:
    """What a page shown again after an error says about the secrets it did not keep."""
    if preset.url_secret:
        kept = f"{preset.url_words} and {preset.key_words}"
        return f"For safety the {kept} were not kept: paste them again."
    return f"For safety the {preset.key_words} was not kept: paste it again."


def expires_on_field(**kwargs: Any) -> forms.DateField:
    return DateField(label="Expires on", required=False, **kwargs)


def expiry_unknown_field() -> forms.BooleanField:
    """“Expiry unknown — legacy key”: the provider's worst case is assumed, shown unconfirmed,
    and a weekly reminder asks for the real date (``Provider.worst_case_expiry``)."""
    worst = ", ".join(
        f"{p.name}: {day_text(p.worst_case_expiry)}"
        for p in PROVIDERS.values()
        if p.worst_case_expiry is not None
    )
    return forms.BooleanField(
        required=False,
        label="Expiry unknown — legacy key",
        help_text=f"For a key whose vendor does not say when it expires (e.g. Atlassian keys "
        f"made before 2025). Leave the expiry empty: keyvault assumes the latest possible day "
        f"({worst}), marks it unconfirmed and asks weekly for the real date.",
    )


#: Notes are a few lines of where and who; a longer text is almost surely a paste gone wrong.
NOTES_MAX_LENGTH = 5000


class IntegrationForm(forms.Form):
    """An integration's metadata (create and edit)."""

    name = TextField(
        max_length=200,
        help_text="What needs the credential, e.g. “Atlassian Cloud — acme (Okta SCIM)”.",
    )
    provider = forms.ChoiceField(
        choices=ProviderKind.choices, help_text="Sets the default lifetime and the URL shape."
    )
    identity_provider = forms.ChoiceField(
        choices=IdentityProvider.choices, initial=IdentityProvider.OKTA
    )
    owner = TextField(max_length=200, required=False, help_text="Person or team responsible.")
    owner_email = forms.EmailField(
        required=False,
        label="Owner email",
        help_text="Reminders can go here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    owner_slack_id = forms.CharField(
        required=False,
        max_length=20,
        label="Owner's Slack member ID",
        validators=[validate_slack_member_id],
        help_text="Optional, e.g. U012ABCDEF: Slack reminders then @mention the owner.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    notes = TextField(
        multiline=True,
        required=False,
        max_length=NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Where it is configured, who to ask — never the secret itself.",
    )
    reminder_thresholds = TextField(
        required=False,
        max_length=100,
        label="Reminder days",
        validators=[validate_thresholds],
        help_text="Days before expiry to send reminders, e.g. 30,14,7,3,1,0. Empty: the default. "
        "Once expired, a reminder goes out every day.",
    )

    def __init__(self, *args: Any, instance: Integration | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", {}).update(
                {name: getattr(instance, name) for name in IntegrationForm.base_fields}
            )
        super().__init__(*args, **kwargs)
        self.instance = instance

    def integration_fields(self) -> dict[str, Any]:
        """The metadata to hand to ``integration_create`` / ``integration_update``."""
        return {name: self.cleaned_data[name] for name in IntegrationForm.base_fields}


class IntegrationCreateForm(IntegrationForm):
    """New integration and its first credential, validated by
    ``credentials.secret_input_clean``.

    After ``is_valid()`` the validated paste is in ``secret``.
    """

    scim_url = scim_url_field()
    token = token_field()
    issued_on = DateField(label="Issued on")
    expires_on = expires_on_field(help_text="Leave empty for the provider's usual lifetime.")
    expiry_unknown = expiry_unknown_field()

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.today = timezone.localdate(now)
        self.fields["issued_on"].initial = self.today
        self.secret: credentials.SecretInput | None = None
        self.paste_again = ""
        self._describe_provider(self.data.get("provider") or ProviderKind.choices[0][0])

    def _describe_provider(self, kind: str) -> None:
        """URL and expiry hints for the chosen provider (the page script updates them live)."""
        preset = PROVIDERS.get(kind)
        if preset is None:
            return
        describe_secret_fields(self, preset)
        self.paste_again = paste_again_note(preset)
        lifetime = f"{preset.lifetime_days} days after the issue date"
        self.fields["expires_on"].help_text = f"Leave empty for the usual lifetime: {lifetime}."

    def clean_issued_on(self) -> date:
        issued_on: date = self.cleaned_data["issued_on"]
        if issued_on > self.today:
            raise ValidationError("The issue date cannot be in the future.", code="future")
        return issued_on

    def issued_at(self, issued_on: date) -> datetime:
        return self.now if issued_on == self.today else local_midnight(issued_on)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider, issued_on = cleaned.get("provider"), cleaned.get("issued_on")
        if not provider or not issued_on or "expires_on" in self.errors:
            return cleaned  # the fields' own messages say what to fix first
        expires_on = cleaned.get("expires_on")
        try:
            self.secret = credentials.secret_input_clean(
                provider=provider,
                scim_url=cleaned.get("scim_url"),
                token=cleaned.get("token"),
                issued_at=self.issued_at(issued_on),
                expires_at=local_midnight(expires_on) if expires_on else None,
                expiry_unknown=cleaned.get("expiry_unknown", False),
            )
        except ValidationError as exc:
            apply_service_errors(self, exc)
        return cleaned


class RevealForm(forms.Form):
    """Password re-entry before a credential is shown, and the second factor of a user who has
    one (``factors``: the kinds they have): a code (from the authenticator app, or a recovery
    code), or, with a security key, the browser's answer to its challenge instead. Without
    ``needs_password`` (a user who signs in only through the identity provider and has a
    keyvault second factor) the second factor alone."""

    password = forms.CharField(
        strip=False,
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(
        self,
        *args: Any,
        factors: Collection[str] = (),
        needs_password: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        app, security_key = TOTP in factors, SECURITY_KEY in factors
        if not factors:
            return
        if not needs_password:
            del self.fields["password"]
        self.fields["code"] = forms.CharField(
            max_length=64,
            required=not security_key,
            label="Code from your authenticator app" if app else "Recovery code",
            help_text=" ".join(
                [
                    *(["Or one of your recovery codes."] if app else []),
                    *(["Or leave it empty and use your security key."] if security_key else []),
                ]
            ),
            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        )
        if security_key:
            self.fields["credential"] = forms.JSONField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        answered = cleaned.get("credential") or cleaned.get("code") or "code" in self.errors
        if "credential" in self.fields and not answered:
            self.add_error("code", "Enter a code, or use your security key.")
        return cleaned


def paste_rules(kinds: Iterable[str] | None = None) -> dict[str, Any]:
    """What a paste page's script needs to check a paste before it is sent and to follow a
    change of provider: per provider its lifetime, field labels and URL shape (a regular
    expression the browser can run), and the token's size limit."""
    chosen = PROVIDERS if kinds is None else {kind: PROVIDERS[kind] for kind in kinds}
    return {
        "token_max_bytes": settings.KEYVAULT_TOKEN_MAX_BYTES,
        "providers": {
            kind: {
                "name": preset.name,
                "a_name": preset.a_name,
                "lifetime_days": preset.lifetime_days,
                "url_required": preset.url_required,
                "url_example": preset.url_example,
                "url_label": preset.url_label,
                "key_label": preset.key_label,
                "url_words": preset.url_words,
                "key_words": preset.key_words,
                "url_pattern": preset.url_pattern.pattern if preset.url_pattern else "",
            }
            for kind, preset in chosen.items()
        },
    }
