"""Forms of the channel pages. They parse input; the rules live in ``alerts.channels``.

A webhook URL (Slack, Teams, webhook) is entered in a password-style input that never renders a
value back: a form shown again after an error asks for it again, and an edit leaves it empty to
keep the current one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django import forms
from django.db.models import QuerySet

from alerts.channels import ChannelInput
from alerts.models import Channel, ChannelKind, Weekday
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
    #: "New <title> channel"; the page's lede says how reminders get there.
    title: str = ""
    lede: str = ""

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


class UrlChannelForm(ChannelForm):
    """A channel that posts to a secret URL (Slack, Teams, webhook)."""

    webhook_url = TextField(
        label="Webhook URL",
        max_length=4096,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs=NO_AUTOFILL),
    )
    url_help = ""
    url_label = "Webhook URL"

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, channel=channel, **kwargs)
        field = self.fields["webhook_url"]
        field.label = self.url_label
        if channel is not None:
            field.label = f"New {self.url_label[0].lower()}{self.url_label[1:]}"
            field.help_text = (
                f"Leave empty to keep the current webhook ({channel.webhook_hint}). "
                "A new URL is stored encrypted and never shown again."
            )
        else:
            field.help_text = f"{self.url_help} It is stored encrypted and never shown again."
            # Checked by the service too; marking it here shows it as required in the page.
            field.widget.attrs["required"] = True

    def channel_input(self) -> ChannelInput:
        return replace(super().channel_input(), webhook_url=self.cleaned_data["webhook_url"])


class SlackChannelForm(UrlChannelForm):
    kind = ChannelKind.SLACK
    title = "Slack"
    lede = (
        "Reminders are posted through a Slack incoming webhook. Create one in Slack (an app "
        "with Incoming Webhooks, choose the channel) and paste its URL."
    )
    url_help = "The incoming webhook URL from Slack (https://hooks.slack.com/services/…)."


class TeamsChannelForm(UrlChannelForm):
    kind = ChannelKind.TEAMS
    title = "Microsoft Teams"
    lede = (
        "Reminders are posted as Adaptive Cards through a Workflows webhook. In the Teams "
        "channel, choose Workflows, then the template “Post to a channel when a webhook request "
        "is received”, and paste the URL it shows."
    )
    url_help = (
        "The workflow's URL (https://….logic.azure.com/…/invoke?…&sig=… or "
        "https://….powerplatform.com/…). Office 365 connector URLs are retired."
    )


class WebhookChannelForm(UrlChannelForm):
    kind = ChannelKind.WEBHOOK
    title = "webhook"
    lede = (
        "Reminders are POSTed as JSON events signed per the Standard Webhooks spec. keyvault "
        "generates the signing secret and shows it once, after the channel is added; give it to "
        "your receiver."
    )
    url_help = "Your receiver's https URL."
    url_label = "Endpoint URL"


class EmailChannelForm(ChannelForm):
    kind = ChannelKind.EMAIL
    title = "email"
    lede = "Reminders are emailed with a plain-text and an HTML part."

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
    ChannelKind.TEAMS.value: TeamsChannelForm,
    ChannelKind.WEBHOOK.value: WebhookChannelForm,
}


class AudienceOverrideForm(forms.Form):
    """One integration's own "escalate from" on a channel."""

    integration = forms.ModelChoiceField(
        queryset=Integration.objects.none(), label="Integration", empty_label=None
    )
    escalate_from_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=3650,
        label="Escalate from (days before expiry)",
        help_text="For this integration only. Empty: every reminder.",
    )

    def __init__(self, *args: Any, integrations: QuerySet[Integration], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["integration"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = integrations
