"""The dashboard: its slices (which tracked credentials a count of the counts strip counts, and
its link shows), the columns the table sorts by, the links between them, and the page.

A slice is one ``Q`` over ``Credential``, used twice: counted by conditional aggregation (all
counts in one query) and as the table's filter (``EXISTS``), so a count and the rows its link
shows cannot disagree. Pure: ``now`` comes from the caller; nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower, NullIf
from django.utils import timezone

from keyvault.models import Credential, CredentialState, Integration
from keyvault.rotation.idp import idp_not_updated_q
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.expiry import URGENT_DAYS, Urgency, local_midnight
from keyvault.vault.providers import ProviderKind
from keyvault.vault.selectors import (
    DASHBOARD_PAGE_SIZE,
    SEARCH_MAX_LENGTH,
    DashboardRow,
    dashboard_rows,
    integration_search,
    tracked_q,
)


class Slice(models.TextChoices):
    """The counts strip, in its order; the value is the ``show`` query parameter."""

    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected by the vendor"
    URGENT = "urgent", "Due within 7 days"
    SOON = "soon", "Due within 30 days"  # the label follows KEYVAULT_DUE_SOON_DAYS
    IDP_PENDING = "idp_pending", "IdP not updated"
    UNCONFIRMED = "unconfirmed", "Expiry unconfirmed"


#: The colour of each count (also said by its words).
SLICE_URGENCY = {
    Slice.EXPIRED: Urgency.RED,
    Slice.REJECTED: Urgency.RED,
    Slice.URGENT: Urgency.RED,
    Slice.SOON: Urgency.AMBER,
    Slice.IDP_PENDING: Urgency.AMBER,
    Slice.UNCONFIRMED: Urgency.AMBER,
}

#: Sortable columns (the ``sort`` query parameter; ``-`` before it: descending).
SORT_COLUMNS = ("name", "provider", "owner", "expires", "status")
DEFAULT_SORT = "expires"
SORT_CHOICES = (*SORT_COLUMNS, *(f"-{c}" for c in SORT_COLUMNS))


def due_before(days: int, *, now: datetime) -> datetime:
    """The first instant with more than ``days`` calendar days left at ``now`` (local time):
    a credential expiring before it has ``days`` days left or fewer."""
    today = now.astimezone(timezone.get_current_timezone()).date()
    return local_midnight(today + timedelta(days=days + 1))


def slice_label(slice_: Slice, *, soon_days: int) -> str:
    if slice_ == Slice.URGENT:
        return f"Due within {URGENT_DAYS} days"
    if slice_ == Slice.SOON:
        return f"Due within {soon_days} days"
    return str(slice_.label)


def slice_condition(slice_: Slice, *, now: datetime, soon_days: int) -> Q:
    """What puts a tracked credential (current, integration not archived) in ``slice_`` at
    ``now``. "Due within N days" holds keys not yet expired with N calendar days left or fewer
    (so the 30-day slice holds the 7-day one)."""
    if slice_ == Slice.EXPIRED:
        return Q(expires_at__lte=now)
    if slice_ == Slice.REJECTED:
        return Q(check_status=CheckStatus.REJECTED)
    if slice_ == Slice.URGENT:
        return Q(expires_at__gt=now, expires_at__lt=due_before(URGENT_DAYS, now=now))
    if slice_ == Slice.SOON:
        return Q(expires_at__gt=now, expires_at__lt=due_before(soon_days, now=now))
    if slice_ == Slice.UNCONFIRMED:
        # expiry_unconfirmed_q without its tracked_q part, which the callers apply.
        return Q(expiry_confirmed=False)
    return idp_not_updated_q()


def slice_q(slice_: Slice, *, now: datetime, soon_days: int) -> Q:
    """The tracked credentials in ``slice_`` at ``now``."""
    return tracked_q() & slice_condition(slice_, now=now, soon_days=soon_days)


@dataclass(frozen=True)
class SliceCount:
    slice: Slice
    label: str
    count: int
    urgency: Urgency
    url: str
    active: bool


def slice_counts(*, now: datetime, soon_days: int) -> dict[Slice, int]:
    """How many tracked credentials each slice holds at ``now``: one query.

    The tracked credentials are the current ones minus those of archived integrations, by id:
    the same set as ``tracked_q``, without joining every credential to its integration (on
    SQLite that join is most of the query's time at 10,000 credentials).
    """
    archived = Integration.objects.filter(archived_at__isnull=False).values("pk")
    tracked = Credential.objects.filter(state=CredentialState.CURRENT).exclude(
        integration__in=archived
    )
    counts = tracked.aggregate(
        **{
            s.value: Count("pk", filter=slice_condition(s, now=now, soon_days=soon_days))
            for s in Slice
        }
    )
    return {s: counts[s.value] for s in Slice}


def slice_filter(
    qs: QuerySet[Integration], slice_: Slice, *, now: datetime, soon_days: int
) -> QuerySet[Integration]:
    """The integrations of ``qs`` whose current credential is in ``slice_``."""
    in_slice = Credential.objects.filter(integration=OuterRef("pk")).filter(
        slice_q(slice_, now=now, soon_days=soon_days)
    )
    return qs.filter(Exists(in_slice))


def _provider_label() -> Case:
    """Providers sort by the name shown ("Microsoft Entra ID"), not the stored key."""
    return Case(
        *(When(provider=kind, then=Value(str(label))) for kind, label in ProviderKind.choices),
        default=F("provider"),
    )


def _status_rank(*, now: datetime, soon_days: int) -> Case:
    """Red 0, amber 1, green 2, as ``urgency`` decides; null without a current credential.
    Needs ``current_expires_at`` and ``current_check_status`` annotations."""
    return Case(
        When(current_expires_at__isnull=True, then=Value(None)),
        When(current_check_status=CheckStatus.REJECTED, then=Value(0)),
        When(current_expires_at__lt=due_before(URGENT_DAYS, now=now), then=Value(0)),
        When(current_expires_at__lt=due_before(soon_days, now=now), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def dashboard_order(
    qs: QuerySet[Integration], sort: str, *, now: datetime, soon_days: int
) -> QuerySet[Integration]:
    """``qs`` (of ``integration_search``) ordered by ``sort`` of ``SORT_CHOICES``. Blanks (no
    owner, no current credential) come last either way; ties fall back to the default order
    (soonest expiry, then name, which is unique), so every order is total and stable."""
    column = sort.lstrip("-")
    descending = sort.startswith("-")
    if column == "provider":
        qs = qs.annotate(sort_key=_provider_label())
    elif column == "owner":
        qs = qs.annotate(sort_key=NullIf(Lower("owner"), Value("")))
    elif column == "status":
        current = Credential.objects.filter(
            integration=OuterRef("pk"), state=CredentialState.CURRENT
        )
        qs = qs.annotate(current_check_status=current.values("check_status")[:1]).annotate(
            sort_key=_status_rank(now=now, soon_days=soon_days)
        )
    elif column == "name":
        qs = qs.annotate(sort_key=Lower("name"))
    else:
        qs = qs.annotate(sort_key=F("current_expires_at"))
    key = F("sort_key")
    first: OrderBy = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
    return qs.order_by(first, F("current_expires_at").asc(nulls_last=True), "name")


@dataclass(frozen=True)
class DashboardQuery:
    """The dashboard's query parameters, and the links that change one of them."""

    q: str = ""
    show: str = ""
    sort: str = DEFAULT_SORT
    base: str = "/"

    def link(self, *, page: int | None = None, **changes: str) -> str:
        """The dashboard with ``changes`` (``q``, ``show``, ``sort``) and ``page``; defaults
        are left out, so the plain dashboard is ``base``."""
        values = {"q": self.q, "show": self.show, "sort": self.sort, **changes}
        params = [
            (k, v) for k, v in values.items() if v and not (k == "sort" and v == DEFAULT_SORT)
        ]
        if page is not None:
            params.append(("page", str(page)))
        return f"?{urlencode(params)}" if params else self.base

    def page_link(self, page: int) -> str:
        return self.link(page=page)


@dataclass(frozen=True)
class SortLink:
    column: str
    url: str
    direction: str  # "ascending" / "descending" when the table is sorted by it, else ""


def sort_links(query: DashboardQuery) -> dict[str, SortLink]:
    """Per column: the link that sorts by it (ascending; descending when it already sorts
    ascending), and the direction it sorts now. Sorting keeps the slice and the search."""
    links = {}
    for column in SORT_COLUMNS:
        direction = ""
        if query.sort == column:
            direction = "ascending"
        elif query.sort == f"-{column}":
            direction = "descending"
        target = f"-{column}" if direction == "ascending" else column
        links[column] = SortLink(column=column, url=query.link(sort=target), direction=direction)
    return links


def counts_strip(
    query: DashboardQuery, counts: dict[Slice, int], *, soon_days: int
) -> list[SliceCount]:
    """The counts strip: each count links to its slice (keeping the order, dropping the search,
    so the rows shown are exactly those counted); the active one links back to all."""
    return [
        SliceCount(
            slice=s,
            label=slice_label(s, soon_days=soon_days),
            count=counts[s],
            urgency=SLICE_URGENCY[s],
            url=query.link(q="", show="" if query.show == s.value else s.value),
            active=query.show == s.value,
        )
        for s in Slice
    ]


@dataclass(frozen=True)
class DashboardPage:
    page: Page[Integration]
    rows: list[DashboardRow]
    q: str
    query: DashboardQuery
    counts: list[SliceCount]
    sorts: dict[str, SortLink]
    slice_label: str  # the slice shown, in words; "" for every integration

    @property
    def all_url(self) -> str:
        """Every integration again, in the same order and search."""
        return self.query.link(show="")

    @property
    def previous_url(self) -> str:
        return self.query.page_link(self.page.previous_page_number())

    @property
    def next_url(self) -> str:
        return self.query.page_link(self.page.next_page_number())


def dashboard_page(
    *,
    q: str,
    page_number: str | int | None,
    now: datetime,
    show: Slice | None = None,
    sort: str = "expires",
    base: str = "/",
    per_page: int = DASHBOARD_PAGE_SIZE,
) -> DashboardPage:
    """One page of the dashboard: integrations matching ``q`` (and in slice ``show``), in the
    order ``sort`` (of ``SORT_CHOICES``), each with its shown credential and status, and
    the counts strip.

    A constant number of queries whatever the table size: the counts (one aggregate), a count
    of rows, the page of integrations, and their shown credentials in one ``IN`` query.
    """
    q = q.strip()[:SEARCH_MAX_LENGTH]
    soon_days = settings.KEYVAULT_DUE_SOON_DAYS
    query = DashboardQuery(q=q, show=show.value if show else "", sort=sort, base=base)
    qs = integration_search(q=q)
    if show is not None:
        qs = slice_filter(qs, show, now=now, soon_days=soon_days)
    qs = dashboard_order(qs, sort, now=now, soon_days=soon_days)
    page = Paginator(qs, per_page).get_page(page_number)
    return DashboardPage(
        page=page,
        rows=dashboard_rows(list(page.object_list), now=now),
        q=q,
        query=query,
        counts=counts_strip(query, slice_counts(now=now, soon_days=soon_days), soon_days=soon_days),
        sorts=sort_links(query),
        slice_label=slice_label(show, soon_days=soon_days) if show else "",
    )
