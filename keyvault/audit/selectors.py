"""Reads for the audit log and its exports.

The audit log pages by KEYSET on ``seq`` (``before``/``after`` cursors, never OFFSET): every page,
the last one included, is an index range scan of ``limit + 1`` rows, so it costs the same at a
million rows as at a hundred. Filters on integration, actor and action use the
(column, -seq) indexes; the date range becomes a ``created_at`` range.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from keyvault.models import AuditEvent
from keyvault.vault.expiry import local_midnight

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 200


@dataclass(frozen=True)
class AuditFilter:
    """What the auditor narrowed the log to; every field optional. Dates are local, inclusive."""

    integration_id: uuid.UUID | None = None
    actor_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""

    def as_details(self) -> dict[str, Any]:
        """The filter as JSON-ready metadata (recorded with each export)."""
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}

    @property
    def is_empty(self) -> bool:
        return not self.as_details()


def audit_events_filtered(*, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events matching ``filters`` (unordered). Free text looks in the actor's label, the
    target id and the details text: all metadata, never a secret."""
    qs = AuditEvent.objects.all()
    if filters.integration_id is not None:
        qs = qs.filter(integration_id=filters.integration_id)
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.date_from is not None:
        qs = qs.filter(created_at__gte=local_midnight(filters.date_from))
    if filters.date_to is not None:
        qs = qs.filter(created_at__lt=local_midnight(filters.date_to + timedelta(days=1)))
    q = filters.q.strip()[:SEARCH_MAX_LENGTH]
    if q:
        qs = qs.filter(
            Q(actor_label__icontains=q) | Q(target_id__icontains=q) | Q(details__icontains=q)
        )
    return qs


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, with the cursors of its neighbours."""

    events: list[AuditEvent]
    has_newer: bool
    has_older: bool

    @property
    def newer_cursor(self) -> int | None:
        """``after=`` value for the page of newer events."""
        return self.events[0].seq if self.events and self.has_newer else None

    @property
    def older_cursor(self) -> int | None:
        """``before=`` value for the page of older events."""
        return self.events[-1].seq if self.events and self.has_older else None


def audit_page(
    *,
    filters: AuditFilter,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """A page of matching events, newest first.

    No cursor: the newest ``limit``. ``before=S``: the ``limit`` newest with ``seq < S``.
    ``after=S``: the ``limit`` oldest with ``seq > S`` (``after=0`` is the oldest page), shown
    newest first. Three indexed queries at most, whatever the page.
    """
    base = audit_events_filtered(filters=filters)
    qs = base.select_related("integration")
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: limit + 1])
        has_newer = len(rows) > limit
        events = rows[:limit][::-1]
        has_older = bool(events) and base.filter(seq__lt=events[-1].seq).exists()
        if not events:
            has_older = base.filter(seq__lte=after).exists()
        return AuditPage(events=events, has_newer=has_newer, has_older=has_older)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: limit + 1])
    events = rows[:limit]
    has_older = len(rows) > limit
    if before is None:
        has_newer = False
    elif events:
        has_newer = base.filter(seq__gt=events[0].seq).exists()
    else:
        has_newer = base.filter(seq__gte=before).exists()
    return AuditPage(events=events, has_newer=has_newer, has_older=has_older)


def audit_rows_for_export(
    *, filters: AuditFilter, upto_seq: int, fields: Sequence[str], chunk_size: int = 2000
) -> Iterator[Mapping[str, Any]]:
    """Matching events with ``seq <= upto_seq`` in chain order, as dicts of ``fields``,
    streamed from the database in chunks (memory stays flat for any size)."""
    qs = (
        audit_events_filtered(filters=filters)
        .filter(seq__lte=upto_seq)
        .order_by("seq")
        .values(*fields)
    )
    return qs.iterator(chunk_size=chunk_size)
