"""What reminders say: one ``Notification`` (subject, text, HTML, Slack, Teams, webhook event)
per message.

Each form is rendered from its own template under ``templates/alerts/messages/``
(``<name>_subject.txt``, ``<name>_body.txt``, ``<name>_body.html``, ``<name>_slack.json``,
``<name>_teams.json``) from one context built here; the webhook event is built here as data
(``reminder_event`` / ``test_event``, schema version ``WEBHOOK_SCHEMA_VERSION``, documented in
the README). The context holds metadata only: never the token, the SCIM URL, the fingerprint
or a webhook URL. Dates are shown in local time (``TIME_ZONE``); the webhook event's are UTC
ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alerts.transports.base import Notification
from keyvault.vault.expiry import days_left, expiry_phrase
from keyvault.web.dates import day_text, moment_text

if TYPE_CHECKING:
    from alerts.models import Channel, Reminder
    from keyvault.models import Integration

TEMPLATE_DIR = "alerts/messages"
#: Version of the webhook event body; raised only for a change a receiver could trip on
#: (a field removed, renamed or changing type). New fields may appear within a version.
WEBHOOK_SCHEMA_VERSION = 1


def rotate_url(integration: Integration) -> str:
    """Absolute link to the integration's rotate form (``SITE_URL`` + path)."""
    path = reverse("keyvault:credential_rotate", kwargs={"integration_id": integration.pk})
    return settings.SITE_URL + path


def integration_url(integration: Integration) -> str:
    """Absolute link to the integration's page."""
    path = reverse("keyvault:integration_detail", kwargs={"integration_id": integration.pk})
    return settings.SITE_URL + path


def dashboard_url() -> str:
    return settings.SITE_URL + reverse("keyvault:dashboard")


def channel_url(channel: Channel) -> str:
    """Absolute link to a channel's page."""
    return settings.SITE_URL + reverse("alerts:channel_detail", kwargs={"channel_id": channel.pk})


@dataclass(frozen=True)
class Due:
    """How an expiry reads at ``now``: the phrase, the headline and the days figure."""

    days: int  # calendar days left in local time; negative once overdue
    expired: bool
    phrase: str  # "expires in 7 days", "expires today", "expired 3 days ago"
    days_label: str  # "Days left" or "Days overdue"
    days_value: int  # never negative

    @classmethod
    def at(cls, expires_at: datetime, *, now: datetime) -> Due:
        days = days_left(expires_at, now=now, tz=timezone.get_default_timezone())
        expired = expires_at <= now
        phrase = expiry_phrase(days=days, expired=expired)
        if not expired:
            return cls(days, False, phrase, "Days left", max(days, 0))
        return cls(days, True, phrase, "Days overdue", max(-days, 0))


def local_datetime(value: datetime) -> str:
    """``value`` in ``TIME_ZONE`` with the zone abbreviation: “8 Mar 2026, 09:00 CET”."""
    return moment_text(value, zone=True)


def local_day(value: datetime) -> str:
    """``value``'s local date (``TIME_ZONE``): “23 Mar 2026”."""
    return day_text(value)


def slack_escape(value: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: What messages show when an integration names no owner.
NO_OWNER = "not set"


def owner_text(integration: Integration) -> str:
    """“Jo Bloggs <jo@example.com>”, the name or the address alone, or “not set”."""
    owner = integration.owner or NO_OWNER
    if integration.owner_email:
        return (
            f"{owner} <{integration.owner_email}>" if integration.owner else integration.owner_email
        )
    return owner


def owner_mention(integration: Integration, *, plain: str) -> str:
    """The owner as Slack mrkdwn: ``<@U012ABCDEF>`` (Slack shows the person and notifies them)
    followed by the plain owner text, or just that text, escaped, without a member ID.
    Slack only; email and other forms show ``plain``."""
    if not integration.owner_slack_id:
        return slack_escape(plain)
    mention = f"<@{integration.owner_slack_id}>"
    return mention if plain == NO_OWNER else f"{mention} ({slack_escape(plain)})"


def reminder_notification(*, reminder: Reminder, now: datetime) -> Notification:
    """The message for one outbox row, as of ``now`` (days left are counted at send time)."""
    credential = reminder.credential
    integration = credential.integration
    due = Due.at(credential.expires_at, now=now)
    owner = owner_text(integration)
    context: dict[str, Any] = {
        "owner_mrkdwn": owner_mention(integration, plain=owner),
        "integration_name": integration.name,
        "provider": integration.get_provider_display(),
        "identity_provider": integration.get_identity_provider_display(),
        "owner": owner,
        "expires": local_datetime(credential.expires_at),
        "expires_date": day_text(credential.expires_at),
        "due": due,
        "rotate_url": rotate_url(integration),
        "threshold": reminder.threshold,
        "idempotency_key": reminder.idempotency_key,
    }
    return notification_render(
        "reminder", context, event=reminder_event(reminder=reminder, now=now)
    )


def reminder_event(*, reminder: Reminder, now: datetime) -> dict[str, Any]:
    """The webhook event (``keyvault.reminder``, version 1) for one outbox row at ``now``.

    Facts only, never a secret: no token, SCIM URL, fingerprint, webhook URL or signing secret.
    ``days_left`` is negative once the credential has expired.
    """
    credential = reminder.credential
    integration = credential.integration
    due = Due.at(credential.expires_at, now=now)
    return {
        "type": "keyvault.reminder",
        "version": WEBHOOK_SCHEMA_VERSION,
        "idempotency_key": reminder.idempotency_key,
        "created_at": iso_utc(now),
        "summary": f"{integration.name}: credential {due.phrase}",
        "threshold": reminder.threshold,
        "integration": {
            "id": str(integration.pk),
            "name": integration.name,
            "provider": integration.provider,
            "provider_name": integration.get_provider_display(),
            "identity_provider": integration.identity_provider,
            "identity_provider_name": integration.get_identity_provider_display(),
            "owner": integration.owner,
            "owner_email": integration.owner_email,
            "url": settings.SITE_URL
            + reverse("keyvault:integration_detail", kwargs={"integration_id": integration.pk}),
        },
        "credential": {
            "id": str(credential.pk),
            "hint": credential.hint,
            "state": credential.state,
            "issued_at": iso_utc(credential.issued_at),
            "expires_at": iso_utc(credential.expires_at),
            "days_left": due.days,
            "expired": due.expired,
        },
        "rotate_url": rotate_url(integration),
    }


def test_event(*, channel: Channel, now: datetime) -> dict[str, Any]:
    """The webhook event a test notification sends (``keyvault.test``, version 1)."""
    return {
        "type": "keyvault.test",
        "version": WEBHOOK_SCHEMA_VERSION,
        "created_at": iso_utc(now),
        "summary": f"Test notification from keyvault for the channel {channel.name}",
        "channel": {"id": str(channel.pk), "name": channel.name, "url": channel_url(channel)},
    }


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_notification(*, channel: Channel, now: datetime) -> Notification:
    """A test message for ``channel``, saying what it is and when it was sent."""
    context: dict[str, Any] = {
        "channel_name": channel.name,
        "sent_at": local_datetime(now),
        "channel_url": channel_url(channel),
    }
    return notification_render("test", context, event=test_event(channel=channel, now=now))


# Not a test of ours: keep pytest from collecting the function above when a test module
# imports it.
test_notification.__test__ = False  # type: ignore[attr-defined]
test_event.__test__ = False  # type: ignore[attr-defined]


def notification_render(
    name: str, context: dict[str, Any], *, event: dict[str, Any] | None = None
) -> Notification:
    """Every form of message ``name``; the webhook event is ``event`` (a test message without
    one sends no Teams card either)."""
    # A header may not hold a line break; templates may end with one.
    subject = " ".join(render_to_string(f"{TEMPLATE_DIR}/{name}_subject.txt", context).split())
    text = str(render_to_string(f"{TEMPLATE_DIR}/{name}_body.txt", context)).strip() + "\n"
    html = str(render_to_string(f"{TEMPLATE_DIR}/{name}_body.html", context))
    slack = json.loads(
        render_to_string(f"{TEMPLATE_DIR}/{name}_slack.json", _slack_context(context))
    )
    teams = (
        json.loads(render_to_string(f"{TEMPLATE_DIR}/{name}_teams.json", _teams_context(context)))
        if event is not None
        else {}
    )
    return Notification(
        subject=subject,
        text=text,
        html=html,
        slack_blocks=slack["blocks"],
        slack_text=slack["text"],
        idempotency_key=context.get("idempotency_key", ""),
        teams_message=teams,
        webhook_event=event or {},
    )


def _slack_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context with every string mrkdwn-escaped; the JSON template adds ``escapejs``."""
    out: dict[str, Any] = {}
    for key, value in context.items():
        # Link targets go into "url" fields and <url|label> as they are; "_mrkdwn" values are
        # mrkdwn already (escaped where needed, e.g. an @mention).
        plain = isinstance(value, str) and not key.endswith(("_url", "_mrkdwn"))
        out[key] = slack_escape(value) if plain else _items(value, slack_escape)
    # Header blocks are plain text (no mrkdwn) and at most 150 characters.
    if "integration_name" in context:
        out["header_name"] = _truncate(context["integration_name"], 80)
    if "channel_name" in context:
        out["header_name"] = _truncate(context["channel_name"], 80)
    if "week_label" in context:
        out["header_name"] = _truncate(context["channel_name"], 60)
    if "headline" in context:
        out["header_name"] = _truncate(context["headline"], 140)
    return out


def _teams_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context for the Adaptive Card template (which escapes every string for JSON), every
    string but links neutralised for the card's Markdown (``teams_escape``)."""
    name = context.get("integration_name") or context.get("channel_name") or ""
    out = {**context, "header_name": _truncate(name, 120)}
    return {
        key: _items(value, teams_escape)
        if not isinstance(value, str)
        else value
        if key.endswith("_url") or key in _TEAMS_AS_IS
        else teams_escape(value)
        for key, value in out.items()
    }


#: Characters that make Adaptive Card Markdown: emphasis and strike (``* _ ~``), code, link
#: brackets (a link needs ``[text](url)``; without its brackets a parenthesis is plain text).
#: Each shows as itself once preceded by a backslash.
_TEAMS_MARKDOWN = frozenset("\\*_~`[]")
#: Context values of keyvault's own making, shown as they are (links are added as they are too).
_TEAMS_AS_IS = frozenset({"idempotency_key"})
#: Block syntax, which counts only at the start of a line: headings, quotes, lists.
_TEAMS_LINE_START = frozenset("#>-+")


def teams_escape(value: str) -> str:
    """``value`` with Markdown neutralised for a Teams card: an integration named
    ``[Pay here](https://evil.example)`` shows as that text, not as a link."""
    out = [f"\\{ch}" if ch in _TEAMS_MARKDOWN else ch for ch in value]
    for i, ch in enumerate(value):
        if ch in _TEAMS_LINE_START and (i == 0 or value[i - 1] == "\n"):
            out[i] = f"\\{ch}"
    return "".join(out)


def _items(value: Any, escape: Callable[[str], str]) -> Any:
    """A list of item dicts (a digest's) with every string but links escaped by ``escape``."""
    if not isinstance(value, list):
        return value
    return [
        {
            k: escape(v) if isinstance(v, str) and not k.endswith("_url") else v
            for k, v in item.items()
        }
        if isinstance(item, dict)
        else item
        for item in value
    ]


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
