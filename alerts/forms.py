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
from alerts.models import Channel, ChannelKind, Weekday
from keyvault.models import Integration
from keyvault.web.forms import NO_AUTOFILL


class ChannelForm(forms.Form):
    """Fields every channel has."""

    name = forms.CharField(
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

    escalate_from_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=3650,
        label="Escalate from (days before expiry)",
        help_text="Receives the reminders this many days before expiry and closer, and every "
        "one once expired. Empty: every reminder. Suggested: empty for the owners' channel, "
        "7 for a team channel, 1 for a default channel that reaches admins or everyone.",
    )
    digest_weekday = forms.TypedChoiceField(
        choices=[("", "No weekly digest"), *Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
        label="Weekly digest",
        help_text="A summary once a week: what expires in the next 60 days, what has expired, "
        "what waits for identity provider confirmation.",
    )
    digest_hour = forms.TypedChoiceField(
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        coerce=int,
        empty_value=None,
        required=False,
        initial=9,
        label="Digest time",
        help_text="Local time (TIME_ZONE).",
    )

    kind: ChannelKind

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        if channel is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(channel)
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is None:
            # A new channel is most often a team's: it joins in from the 7-day reminder.
            self.fields["escalate_from_days"].initial = 7

    def initial_for(self, channel: Channel) -> dict[str, Any]:
        return {
            "name": channel.name,
            "is_default": channel.is_default,
            "integrations": list(channel.integrations.all()),
            "escalate_from_days": channel.escalate_from_days,
            "digest_weekday": channel.digest_weekday,
            "digest_hour": channel.digest_hour,
        }

    def channel_input(self) -> ChannelInput:
        data = self.cleaned_data
        return ChannelInput(
            name=data["name"],
            is_default=data["is_default"],
            integrations=list(data["integrations"]),
            escalate_from_days=data["escalate_from_days"],
            digest_weekday=data["digest_weekday"],
            digest_hour=9 if data["digest_hour"] is None else data["digest_hour"],
        )


class SlackChannelForm(ChannelForm):
    kind = ChannelKind.SLACK

    webhook_url = forms.CharField(
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

    email_recipients = forms.CharField(
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
