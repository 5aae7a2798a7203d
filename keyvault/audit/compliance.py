"""Compliance figures for a date range: how credentials were retired (rotated or revoked), which
of them had already expired — late, with their days lapsed — what is expired now, and the
expiry timeline (``keyvault.audit.timeline``).

A credential counts as late when it was retired after the moment it expired, however briefly:
a key revoked after sitting expired for 7 days is late with 7 days lapsed, even though it was
never rotated. Days lapsed are whole days or part-days from expiry to retirement.

Everything is computed from one ``now`` in a constant number of queries (aggregates in the
database), whatever the number of integrations; the per-integration table is paged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.safestring import SafeString

from keyvault.audit.timeline import TimelineMonth, expiry_timeline, timeline_svg
from keyvault.models import Credential, CredentialState, Integration
from keyvault.vault.expiry import local_midnight
from keyvault.vault.selectors import tracked_q

PAGE_SIZE = 100
EXPIRED_SHOWN = 50
RANGE_MONTHS = 12
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DateRange:
    """Local calendar days, both ends included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The first instant of ``start`` and of the day after ``end``; None for an end the
        calendar (or the time zone) cannot express, which then leaves that side open."""
        try:
            lower: datetime | None = local_midnight(self.start)
        except OverflowError:
            lower = None
        try:
            upper: datetime | None = local_midnight(self.end + _DAY)
        except OverflowError:
            upper = None
        return lower, upper

    def as_details(self) -> dict[str, str]:
        """The range as JSON-ready metadata (recorded with each export)."""
        return {"date_from": self.start.isoformat(), "date_to": self.end.isoformat()}


def months_ending(end: date, *, months: int = RANGE_MONTHS) -> DateRange:
    """The ``months`` up to ``end``: from the same day ``months`` earlier (clamped to the end
    of a shorter month, and to the first day of the calendar) to ``end``."""
    y, m = divmod(end.year * 12 + end.month - 1 - months, 12)
    if y < date.min.year:
        return DateRange(start=date.min, end=end)
    following = date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
    last_day = (following - date(y, m + 1, 1)).days
    return DateRange(start=date(y, m + 1, min(end.day, last_day)), end=end)


def default_range(*, now: datetime) -> DateRange:
    """The 12 months up to the local day of ``now``."""
    return months_ending(timezone.localtime(now).date())


@dataclass(frozen=True)
class RetirementFigures:
    """Credentials retired in a range: how many, how (rotated or revoked), how many late and by
    how much, and the rotations' lead times (days before expiry; negative = late)."""

    count: int
    rotated: int
    revoked: int
    late: int
    worst_lapse_days: int | None  # the longest a late one sat expired
    mean_lapse_days: float | None  # over the late ones
    mean_lead_days: float | None
    worst_lead_days: int | None

    @property
    def on_time(self) -> int:
        return self.count - self.late

    @property
    def on_time_share(self) -> float | None:
        """Share retired before it expired (0..1); None when nothing was retired."""
        return self.on_time / self.count if self.count else None

    @property
    def on_time_percent(self) -> int | None:
        share = self.on_time_share
        return None if share is None else round(share * 100)


NO_RETIREMENTS = RetirementFigures(0, 0, 0, 0, None, None, None, None)


def lapsed_days(lapse: timedelta | None) -> int:
    """Days (a part-day counts as one) a credential sat expired before it was retired; 0 when
    it was retired in time."""
    if lapse is None or lapse <= timedelta(0):
        return 0
    return math.ceil(lapse / _DAY)


@dataclass(frozen=True)
class IntegrationRow:
    integration: Integration
    retirements: RetirementFigures
    current_expires_at: datetime | None
    expired: bool  # its current credential has expired
    has_current: bool


@dataclass(frozen=True)
class ComplianceSummary:
    now: datetime
    range: DateRange
    overall: RetirementFigures
    page: Page[Integration]
    rows: list[IntegrationRow]  # the integrations of ``page``
    expired_count: int
    expired: list[IntegrationRow]  # the first ``EXPIRED_SHOWN``, longest expired first
    timeline: list[TimelineMonth]

    @property
    def timeline_svg(self) -> SafeString:
        return timeline_svg(self.timeline)


def retired_in_range(*, date_range: DateRange) -> QuerySet[Credential]:
    """Credentials rotated away (superseded) or revoked within ``date_range``, annotated with
    ``retired_at`` and ``lapse`` (retirement minus expiry: positive when it was late)."""
    lower, upper = date_range.bounds()
    qs = Credential.objects.filter(
        state__in=(CredentialState.SUPERSEDED, CredentialState.REVOKED)
    ).annotate(
        retired_at=Coalesce("superseded_at", "revoked_at"),
        lapse=ExpressionWrapper(
            Coalesce("superseded_at", "revoked_at") - F("expires_at"),
            output_field=DurationField(),
        ),
    )
    if lower is not None:
        qs = qs.filter(retired_at__gte=lower)
    if upper is not None:
        qs = qs.filter(retired_at__lt=upper)
    return qs


def _figures() -> dict[str, Any]:
    late = Q(retired_at__gt=F("expires_at"))
    return {
        "count": Count("id"),
        "rotated": Count("id", filter=Q(state=CredentialState.SUPERSEDED)),
        "revoked": Count("id", filter=Q(state=CredentialState.REVOKED)),
        "late": Count("id", filter=late),
        "worst_lapse": Max("lapse", filter=late),
        "mean_lapse": Avg("lapse", filter=late),
        "mean_lead": Avg("rotated_to__lead_time_days"),
        "worst_lead": Min("rotated_to__lead_time_days"),
    }


def _as_figures(values: Mapping[str, Any]) -> RetirementFigures:
    if not values.get("count"):
        return NO_RETIREMENTS
    mean_lead, mean_lapse = values["mean_lead"], values["mean_lapse"]
    return RetirementFigures(
        count=values["count"],
        rotated=values["rotated"],
        revoked=values["revoked"],
        late=values["late"],
        worst_lapse_days=lapsed_days(values["worst_lapse"]) if values["late"] else None,
        mean_lapse_days=round(mean_lapse / _DAY, 1) if mean_lapse is not None else None,
        mean_lead_days=round(float(mean_lead), 1) if mean_lead is not None else None,
        worst_lead_days=values["worst_lead"],
    )


def compliance_summary(
    *,
    now: datetime,
    date_range: DateRange | None = None,
    page_number: str | int | None = None,
    per_page: int = PAGE_SIZE,
) -> ComplianceSummary:
    """Retirement figures for ``date_range`` (default: the 12 months before ``now``), overall
    and per integration for one page of integrations by name; the integrations whose current
    credential has expired at ``now``; and the expiry timeline from the current month on."""
    date_range = date_range or default_range(now=now)
    retired = retired_in_range(date_range=date_range)
    overall = _as_figures(retired.aggregate(**_figures()))
    page = Paginator(
        Integration.objects.only("id", "name", "provider").order_by("name"), per_page
    ).get_page(page_number)
    integrations = list(page.object_list)
    ids = [i.pk for i in integrations]
    figures = {
        row["integration_id"]: _as_figures(row)
        for row in retired.filter(integration_id__in=ids)
        .values("integration_id")
        .annotate(**_figures())
        .order_by()
    }
    current = Credential.objects.filter(state=CredentialState.CURRENT)
    expiry = dict(
        current.filter(integration_id__in=ids).values_list("integration_id", "expires_at")
    )
    rows = [_row(i, figures.get(i.pk, NO_RETIREMENTS), expiry.get(i.pk), now) for i in integrations]
    # An archived integration's lapsed key is retired, not a gap: left out of "expired now".
    expired_qs = current.filter(tracked_q(), expires_at__lte=now).select_related("integration")
    expired = [
        _row(c.integration, NO_RETIREMENTS, c.expires_at, now)
        for c in expired_qs.only(
            "expires_at", "integration__id", "integration__name", "integration__provider"
        ).order_by("expires_at")[:EXPIRED_SHOWN]
    ]
    return ComplianceSummary(
        now=now,
        range=date_range,
        overall=overall,
        page=page,
        rows=rows,
        expired_count=expired_qs.count(),
        expired=expired,
        timeline=expiry_timeline(now=now),
    )


def _row(
    integration: Integration,
    retirements: RetirementFigures,
    expires_at: datetime | None,
    now: datetime,
) -> IntegrationRow:
    return IntegrationRow(
        integration=integration,
        retirements=retirements,
        current_expires_at=expires_at,
        expired=expires_at is not None and expires_at <= now,
        has_current=expires_at is not None,
    )
