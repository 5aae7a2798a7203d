"""The expiry timeline: current credentials expiring in each of the coming months (this one and
the next twelve), which of those months are crowded, and the same drawn as server-side SVG.

A constant number of queries whatever the number of credentials: one grouped count, and the
first few names of each month that has expiries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from keyvault.models import Credential
from keyvault.vault.expiry import local_midnight
from keyvault.vault.selectors import tracked_q

#: The current month and the twelve after it: a key issued today (expiring in a year, the
#: usual lifetime) lands on the timeline.
TIMELINE_MONTHS = 13
NAMES_PER_MONTH = 5


@dataclass(frozen=True)
class TimelineMonth:
    start: date
    count: int
    names: list[str]  # the first few, soonest first
    crowded: bool

    @property
    def label(self) -> str:
        return self.start.strftime("%b %Y")


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(y, m + 1, 1)


def expiry_timeline(*, now: datetime, months: int = TIMELINE_MONTHS) -> list[TimelineMonth]:
    """Current credentials (integrations not archived) expiring in each of ``months`` local
    calendar months, starting with the month of ``now``. A month is crowded when it holds at
    least two and half again the average of the busy months."""
    tz = timezone.get_current_timezone()
    first = timezone.localtime(now).date().replace(day=1)
    starts = [_add_months(first, i) for i in range(months + 1)]
    bounds = [local_midnight(d, tz) for d in starts]
    window = Credential.objects.filter(
        tracked_q(), expires_at__gte=bounds[0], expires_at__lt=bounds[-1]
    )
    counts = {
        timezone.localtime(row["month"], tz).date(): row["n"]
        for row in window.annotate(month=TruncMonth("expires_at", tzinfo=tz))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    busy = [n for n in counts.values() if n]
    threshold = max(2.0, 1.5 * sum(busy) / len(busy)) if busy else float("inf")
    timeline = []
    for i, start in enumerate(starts[:-1]):
        count = counts.get(start, 0)
        names = (
            list(
                window.filter(expires_at__gte=bounds[i], expires_at__lt=bounds[i + 1])
                .order_by("expires_at")
                .values_list("integration__name", flat=True)[:NAMES_PER_MONTH]
            )
            if count
            else []
        )
        timeline.append(
            TimelineMonth(start=start, count=count, names=names, crowded=count >= threshold)
        )
    return timeline


# --- SVG ----------------------------------------------------------------------------------------

_W, _H = 720, 220
_TOP, _BOTTOM, _LEFT = 24, 40, 8
_COLOURS = {"bar": "#1d4ed8", "crowded": "#a3211a", "empty": "#d9dee6", "text": "#17202e"}


def timeline_svg(months: Sequence[TimelineMonth]) -> SafeString:
    """A bar per month, escaped and self-contained: presentation attributes only (the CSP
    forbids inline styles), a <title> per bar naming its month, count and first integrations."""
    slot = (_W - 2 * _LEFT) / max(len(months), 1)
    bar_w = slot * 0.6
    peak = max((m.count for m in months), default=0) or 1
    plot_h = _H - _TOP - _BOTTOM
    bars = []
    for i, month in enumerate(months):
        h = max(plot_h * month.count / peak, 2 if month.count else 1)
        x = _LEFT + i * slot + (slot - bar_w) / 2
        y = _TOP + plot_h - h
        colour = _COLOURS["crowded" if month.crowded else "bar" if month.count else "empty"]
        more = month.count - len(month.names)
        tip = f"{month.label}: {month.count} expir{'y' if month.count == 1 else 'ies'}"
        if month.names:
            tip += " — " + ", ".join(month.names) + (f" and {more} more" if more > 0 else "")
        if month.crowded:
            tip += " (crowded)"
        bars.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{bar_w:.1f}",
                f"{h:.1f}",
                colour,
                "kv-bar kv-bar--crowded" if month.crowded else "kv-bar",
                tip,
                f"{x + bar_w / 2:.1f}",
                f"{y - 6:.1f}",
                str(month.count),
                f"{_H - _BOTTOM + 16:.1f}",
                month.start.strftime("%b"),
                f"{_H - _BOTTOM + 32:.1f}",
                month.start.strftime("%Y") if i == 0 or month.start.month == 1 else "",
            )
        )
    body = format_html_join(
        "\n",
        '<g class="{5}"><title>{6}</title>'
        '<rect x="{0}" y="{1}" width="{2}" height="{3}" rx="3" fill="{4}"></rect>'
        '<text x="{7}" y="{8}" text-anchor="middle" font-size="12" fill="#17202e">{9}</text>'
        '<text x="{7}" y="{10}" text-anchor="middle" font-size="12" fill="#17202e">{11}</text>'
        '<text x="{7}" y="{12}" text-anchor="middle" font-size="11" fill="#556070">{13}</text>'
        "</g>",
        bars,
    )
    total = sum(m.count for m in months)
    crowded = [m.label for m in months if m.crowded]
    desc = f"{total} current credentials expire in the next {len(months)} months." + (
        f" Crowded: {', '.join(crowded)}." if crowded else ""
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="kv-timeline" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-labelledby="kv-timeline-title kv-timeline-desc">'
        '<title id="kv-timeline-title">Expiries per month</title>'
        '<desc id="kv-timeline-desc">{}</desc>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#b7c0cc"></line>'
        "{}</svg>",
        _W,
        _H,
        desc,
        _LEFT,
        _H - _BOTTOM,
        _W - _LEFT,
        _H - _BOTTOM,
        body,
    )
