"""``{% reminder_status %}``: the dashboard's reminder strip (failed deliveries, last scan)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from alerts.selectors import channels_failing_transiently, scan_health

register = template.Library()


@register.inclusion_tag("alerts/_reminder_status.html", takes_context=True)
def reminder_status(context: template.Context) -> dict[str, Any]:
    """Reads the scan heartbeat and failed reminders as of the page's ``now`` (if it has one)."""
    now = context.get("now") or timezone.now()
    return {"health": scan_health(now=now), "failing": channels_failing_transiently(now=now)}
