"""Compliance figures: how rotations went over the last 12 months, what is expired now, and
which of the coming months (this one and the next twelve) are crowded with expiries (drawn as
server-side SVG).

Everything is computed from one ``now`` in a constant number of queries (aggregates in the
database), whatever the number of integrations; the per-integration table is paged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, Min, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from keyvault.models import Credential, CredentialState, Integration, Rotation
from keyvault.vault.expiry import local_midnight

#: The current month and the twelve after it: a key issued today (expiring in a year, the
#: usual lifetime) lands on the timeline.
TIMELINE_MONTHS = 13
NAMES_PER_MONTH = 5
PAGE_SIZE = 100
EXPIRED_SHOWN = 50


@dataclass(frozen=True)
class RotationFigures:
    """Rotations in a window: how many, how many before expiry, mean and worst lead time."""

    count: int
    on_time: int
    mean_lead_days: float | None
    worst_lead_days: int | None

    @property
    def on_time_share(self) -> float | None:
        """Share rotated before the old credential expired (0..1); None without rotations."""
        return self.on_time / self.count if self.count else None

    @property
    def on_time_percent(self) -> int | None:
        share = self.on_time_share
        return None if share is None else round(share * 100)


_NO_ROTATIONS = RotationFigures(0, 0, None, None)


@dataclass(frozen=True)
class IntegrationRow:
    integration: Integration
    rotations: RotationFigures
    current_expires_at: datetime | None
    expired: bool  # its current credential has expired
    has_current: bool


@dataclass(frozen=True)
class TimelineMonth:
    start: date
    count: int
    names: list[str]  # the first few, soonest first
    crowded: bool

    @property
    def label(self) -> str:
        return self.start.strftime("%b %Y")


@dataclass(frozen=True)
class ComplianceSummary:
    now: datetime
    since: datetime
    overall: RotationFigures
    page: Page[Integration]
    rows: list[IntegrationRow]  # the integrations of ``page``
    expired_count: int
    expired: list[IntegrationRow]  # the first ``EXPIRED_SHOWN``, longest expired first
    timeline: list[TimelineMonth]

    @property
    def timeline_svg(self) -> SafeString:
        return timeline_svg(self.timeline)


def _months_ago(moment: datetime, months: int) -> datetime:
    """The same local day and time ``months`` earlier (clamped to the month's last day)."""
    local = timezone.localtime(moment)
    y, m = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, _month_length(y, m + 1))
    return local.replace(year=y, month=m + 1, day=day)


def _month_length(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(y, m + 1, 1)


def _figures() -> dict[str, Any]:
    return {
        "count": Count("id"),
        "on_time": Count("id", filter=Q(lead_time_days__gte=0)),
        "mean": Avg("lead_time_days"),
        "worst": Min("lead_time_days"),
    }


def _as_figures(values: Mapping[str, Any]) -> RotationFigures:
    if not values.get("count"):
        return _NO_ROTATIONS
    mean = values["mean"]
    return RotationFigures(
        count=values["count"],
        on_time=values["on_time"],
        mean_lead_days=round(float(mean), 1) if mean is not None else None,
        worst_lead_days=values["worst"],
    )


def compliance_summary(
    *, now: datetime, page_number: str | int | None = None, per_page: int = PAGE_SIZE
) -> ComplianceSummary:
    """Rotation figures for the 12 months before ``now`` (overall, and per integration for one
    page of integrations by name), the integrations whose current credential has expired at
    ``now``, and the expiry timeline from the current month to the same month next year."""
    since = _months_ago(now, 12)
    recent = Rotation.objects.filter(rotated_at__gt=since, rotated_at__lte=now)
    overall = _as_figures(recent.aggregate(**_figures()))
    page = Paginator(
        Integration.objects.only("id", "name", "provider").order_by("name"), per_page
    ).get_page(page_number)
    integrations = list(page.object_list)
    ids = [i.pk for i in integrations]
    figures = {
        row["integration_id"]: _as_figures(row)
        for row in recent.filter(integration_id__in=ids)
        .values("integration_id")
        .annotate(**_figures())
        .order_by()
    }
    current = Credential.objects.filter(state=CredentialState.CURRENT)
    expiry = dict(
        current.filter(integration_id__in=ids).values_list("integration_id", "expires_at")
    )
    rows = [_row(i, figures.get(i.pk, _NO_ROTATIONS), expiry.get(i.pk), now) for i in integrations]
    expired_qs = current.filter(expires_at__lte=now).select_related("integration")
    expired = [
        _row(c.integration, _NO_ROTATIONS, c.expires_at, now)
        for c in expired_qs.only(
            "expires_at", "integration__id", "integration__name", "integration__provider"
        ).order_by("expires_at")[:EXPIRED_SHOWN]
    ]
    return ComplianceSummary(
        now=now,
        since=since,
        overall=overall,
        page=page,
        rows=rows,
        expired_count=expired_qs.count(),
        expired=expired,
        timeline=expiry_timeline(now=now),
    )


def _row(
    integration: Integration,
    rotations: RotationFigures,
    expires_at: datetime | None,
    now: datetime,
) -> IntegrationRow:
    return IntegrationRow(
        integration=integration,
        rotations=rotations,
        current_expires_at=expires_at,
        expired=expires_at is not None and expires_at <= now,
        has_current=expires_at is not None,
    )


def expiry_timeline(*, now: datetime, months: int = TIMELINE_MONTHS) -> list[TimelineMonth]:
    """Current credentials expiring in each of ``months`` local calendar months, starting with
    the month of ``now``. A month is crowded when it holds at least two and half again the
    average of the busy months."""
    tz = timezone.get_current_timezone()
    first = timezone.localtime(now).date().replace(day=1)
    starts = [_add_months(first, i) for i in range(months + 1)]
    bounds = [local_midnight(d, tz) for d in starts]
    window = Credential.objects.filter(
        state=CredentialState.CURRENT, expires_at__gte=bounds[0], expires_at__lt=bounds[-1]
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
