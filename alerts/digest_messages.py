"""What a weekly digest says (``alerts.digest``): one ``Notification`` in every form —
subject, text, HTML, Slack, a Teams card, and the webhook event ``keyvault.digest``.

Metadata only: the items are the digest content's (names, hints, dates, links), never a
secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from alerts.messages import (
    WEBHOOK_SCHEMA_VERSION,
    channel_url,
    dashboard_url,
    iso_utc,
    local_datetime,
    notification_render,
)
from alerts.transports.base import Notification
from keyvault.web.dates import day_text

if TYPE_CHECKING:
    from alerts.digest import DigestContent
    from alerts.models import Digest

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
        "week_label": f"week of {day_text(week)}",
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
    return notification_render(
        "digest", context, event=digest_event(digest=digest, content=content, now=now)
    )


def digest_event(*, digest: Digest, content: DigestContent, now: datetime) -> dict[str, Any]:
    """The webhook event (``keyvault.digest``, version 1) of one digest: every item of every
    section, facts only."""
    channel = digest.channel
    return {
        "type": "keyvault.digest",
        "version": WEBHOOK_SCHEMA_VERSION,
        "idempotency_key": digest.idempotency_key,
        "created_at": iso_utc(now),
        "summary": f"keyvault weekly digest for {channel.name}, week of {day_text(digest.week)}",
        "channel": {"id": str(channel.pk), "name": channel.name, "url": channel_url(channel)},
        "week": digest.week.isoformat(),
        "window_days": content.window_days,
        "counts": content.counts(),
        "expiring": content.expiring,
        "expired": content.expired,
        "idp_unconfirmed": content.idp_unconfirmed,
        "vendor_rejected": content.vendor_rejected,
    }
