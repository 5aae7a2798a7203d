"""Forms of the channel pages. They parse input; the rules live in ``alerts.channels``.

The webhook URL is entered in a password-style input that never renders a value back: a form
shown again after an error asks for it again, and an edit leaves it empty to keep the current
one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django import forms

from alerts.channels import ChannelInput
from alerts.models import Channel, ChannelKind
from keyvault.models import Integration
from keyvault.web.forms import NO_AUTOFILL, TextField

#: Comma-separated addresses; a few dozen fit easily.
RECIPIENTS_MAX_LENGTH = 4000


class ChannelForm(forms.Form):
    """Fields every channel has."""

    name = TextField(
        max_length=200, help_text="Where reminders go, e.g. “#it-ops” or “IT operations (email)”."
    )
    is_default = forms.BooleanField(
        required=False,
        label="Default channel",
        help_text="Receives reminders for every integration.",
    )
    integrations = forms.ModelMultipleChoiceField(
        queryset=Integration.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Receives reminders for these integrations (not needed for a default channel).",
    )

    kind: ChannelKind

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        if channel is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(channel)
        super().__init__(*args, **kwargs)
        self.channel = channel

    def initial_for(self, channel: Channel) -> dict[str, Any]:
        return {
            "name": channel.name,
            "is_default": channel.is_default,
            "integrations": list(channel.integrations.all()),
        }

    def channel_input(self) -> ChannelInput:
        data = self.cleaned_data
        return ChannelInput(
            name=data["name"],
            is_default=data["is_default"],
            integrations=list(data["integrations"]),
        )


class SlackChannelForm(ChannelForm):
    kind = ChannelKind.SLACK

    webhook_url = TextField(
        label="Webhook URL",
        max_length=4096,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs=NO_AUTOFILL),
        help_text="The incoming webhook URL from Slack (https://hooks.slack.com/services/…). "
        "It is stored encrypted and never shown again.",
    )

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, channel=channel, **kwargs)
        if channel is not None:
            self.fields["webhook_url"].label = "New webhook URL"
            self.fields["webhook_url"].help_text = (
                f"Leave empty to keep the current webhook ({channel.webhook_hint}). "
                "A new URL is stored encrypted and never shown again."
            )
        else:
            # Checked by the service too; marking it here shows it as required in the page.
            self.fields["webhook_url"].widget.attrs["required"] = True

    def channel_input(self) -> ChannelInput:
        return replace(super().channel_input(), webhook_url=self.cleaned_data["webhook_url"])


class EmailChannelForm(ChannelForm):
    kind = ChannelKind.EMAIL

    email_recipients = TextField(
        multiline=True,
        max_length=RECIPIENTS_MAX_LENGTH,
        label="Recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, **NO_AUTOFILL}),
        help_text="Email addresses, separated by commas.",
    )
    email_to_owner = forms.BooleanField(
        required=False,
        label="Also send to the integration's owner",
        help_text="Uses the owner email address set on each integration.",
    )

    def initial_for(self, channel: Channel) -> dict[str, Any]:
        return {
            **super().initial_for(channel),
            "email_recipients": channel.email_recipients,
            "email_to_owner": channel.email_to_owner,
        }

    def channel_input(self) -> ChannelInput:
        return replace(
            super().channel_input(),
            email_recipients=self.cleaned_data["email_recipients"],
            email_to_owner=self.cleaned_data["email_to_owner"],
        )


FORMS: dict[str, type[ChannelForm]] = {
    ChannelKind.SLACK.value: SlackChannelForm,
    ChannelKind.EMAIL.value: EmailChannelForm,
}
