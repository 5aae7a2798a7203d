"""What reminders say: one ``Notification`` (subject, text, HTML, Slack) per message.

Each form is rendered from its own template under ``templates/alerts/messages/``
(``<name>_subject.txt``, ``<name>_body.txt``, ``<name>_body.html``, ``<name>_slack.json``) from
one context built here. The context holds metadata only: never the token, the SCIM URL, the
fingerprint or a webhook URL. Dates are shown in local time (``TIME_ZONE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone

from alerts.transports.base import Notification
from keyvault.vault.expiry import days_left, expiry_phrase

if TYPE_CHECKING:
    from alerts.digest import DigestContent
    from alerts.models import Channel, Digest, Reminder
    from keyvault.models import Integration

TEMPLATE_DIR = "alerts/messages"
DATE_FORMAT = "l j F Y, H:i T"  # e.g. "Sunday 8 March 2026, 09:00 UTC"


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
    """``value`` in ``TIME_ZONE``, spelled out with the zone abbreviation."""
    return dateformat.format(
        timezone.localtime(value, timezone.get_default_timezone()), DATE_FORMAT
    )


def local_day(value: datetime) -> str:
    """``value``'s local date (``TIME_ZONE``), short: “23 Mar 2026”."""
    day = timezone.localtime(value, timezone.get_default_timezone()).date()
    return f"{day.day} {day:%b %Y}"


def slack_escape(value: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: What messages show when an integration names no owner.
NO_OWNER = "not set"


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
    owner = integration.owner or NO_OWNER
    if integration.owner_email:
        owner = (
            f"{owner} <{integration.owner_email}>" if integration.owner else integration.owner_email
        )
    context: dict[str, Any] = {
        "owner_mrkdwn": owner_mention(integration, plain=owner),
        "integration_name": integration.name,
        "provider": integration.get_provider_display(),
        "identity_provider": integration.get_identity_provider_display(),
        "owner": owner,
        "expires": local_datetime(credential.expires_at),
        "expires_date": dateformat.format(
            timezone.localtime(credential.expires_at, timezone.get_default_timezone()), "j M Y"
        ),
        "due": due,
        "rotate_url": rotate_url(integration),
        "threshold": reminder.threshold,
        "idempotency_key": reminder.idempotency_key,
    }
    return _render("reminder", context)


#: Items listed per section of a Slack digest (a section holds at most 3,000 characters); the
#: email lists every item.
SLACK_DIGEST_ITEMS = 15


def digest_notification(*, digest: Digest, content: DigestContent, now: datetime) -> Notification:
    """The weekly digest of ``digest.channel`` listing ``content`` (selected at ``now``)."""
    week = digest.week
    sections = {
        "expiring": content.expiring,
        "expired": content.expired,
        "idp_unconfirmed": content.idp_unconfirmed,
        "vendor_rejected": content.vendor_rejected,
    }
    context: dict[str, Any] = {
        "channel_name": digest.channel.name,
        "week_label": f"week of {week.day} {week:%b %Y}",
        "window_days": content.window_days,
        "generated_at": local_datetime(now),
        "dashboard_url": dashboard_url(),
        "channel_url": channel_url(digest.channel),
        "idempotency_key": digest.idempotency_key,
        "slack_items": f":{SLACK_DIGEST_ITEMS}",
        "nothing": not any(sections.values()),
        **sections,
        **{
            f"{name}_more": max(0, len(items) - SLACK_DIGEST_ITEMS)
            for name, items in sections.items()
        },
    }
    return _render("digest", context)


def test_notification(*, channel: Channel, now: datetime) -> Notification:
    """A test message for ``channel``, saying what it is and when it was sent."""
    context: dict[str, Any] = {
        "channel_name": channel.name,
        "sent_at": local_datetime(now),
        "channel_url": channel_url(channel),
    }
    return _render("test", context)


# Not a test of ours: keep pytest from collecting the function above when a test module
# imports it.
test_notification.__test__ = False  # type: ignore[attr-defined]


def _render(name: str, context: dict[str, Any]) -> Notification:
    # A header may not hold a line break; templates may end with one.
    subject = " ".join(render_to_string(f"{TEMPLATE_DIR}/{name}_subject.txt", context).split())
    text = str(render_to_string(f"{TEMPLATE_DIR}/{name}_body.txt", context)).strip() + "\n"
    html = str(render_to_string(f"{TEMPLATE_DIR}/{name}_body.html", context))
    slack = json.loads(
        render_to_string(f"{TEMPLATE_DIR}/{name}_slack.json", _slack_context(context))
    )
    return Notification(
        subject=subject,
        text=text,
        html=html,
        slack_blocks=slack["blocks"],
        slack_text=slack["text"],
        idempotency_key=context.get("idempotency_key", ""),
    )


def _slack_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context with every string mrkdwn-escaped; the JSON template adds ``escapejs``."""
    out: dict[str, Any] = {}
    for key, value in context.items():
        # Link targets go into "url" fields and <url|label> as they are; "_mrkdwn" values are
        # mrkdwn already (escaped where needed, e.g. an @mention).
        plain = isinstance(value, str) and not key.endswith(("_url", "_mrkdwn"))
        out[key] = slack_escape(value) if plain else _slack_items(value)
    # Header blocks are plain text (no mrkdwn) and at most 150 characters.
    if "integration_name" in context:
        out["header_name"] = _truncate(context["integration_name"], 80)
    if "channel_name" in context:
        out["header_name"] = _truncate(context["channel_name"], 80)
    if "week_label" in context:
        out["header_name"] = _truncate(context["channel_name"], 60)
    return out


def _slack_items(value: Any) -> Any:
    """A list of item dicts (a digest's) with every string but links mrkdwn-escaped."""
    if not isinstance(value, list):
        return value
    return [
        {
            k: slack_escape(v) if isinstance(v, str) and not k.endswith("_url") else v
            for k, v in item.items()
        }
        if isinstance(item, dict)
        else item
        for item in value
    ]


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
