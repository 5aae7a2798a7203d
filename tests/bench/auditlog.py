"""Audit log figures: CSV export (time, peak memory) and the log's first and last pages.

One chain is built and grown in steps, so every figure reuses the rows before it: the export
is measured at a tenth of its size and at its size (memory must not grow with the rows), then
the chain is grown to its full size for the pages. Pages and export go through the real views
with a signed-in test client, counting every query of the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html import unescape
from typing import Any

from django.db import connection

from keyvault.models import AuditAction, AuditChainHead, AuditEvent, Integration
from tests.bench import data
from tests.bench.harness import Figure, measure, measure_interleaved

AUDIT_URL = "/audit/"
EXPORT_URL = "/audit/export/"
_OLDEST_LINK = re.compile(r'<a class="button" href="([^"]*)">Oldest')


def _grow_chain(*, to: int, now: datetime, step: int) -> None:
    """Append events until the chain holds ``to`` rows; each step's events are dated in the
    year before ``now - (3 - step) years``, so later steps are newer (the chain's time order)."""
    have = AuditChainHead.objects.get(pk=1).seq
    if to > have:
        data.build_audit_events(
            count=to - have, now=now - timedelta(days=365 * (3 - step)), seed=100 + step
        )


def export_figure(*, client: Any, sizes: tuple[int, int], now: datetime) -> Figure:
    """Stream the unfiltered CSV export at two chain sizes; memory must stay flat.

    The smaller size is more than one database chunk (2,000 rows) and one output batch, so both
    runs have the streaming pipeline full and their peaks compare like for like.
    """
    fig = Figure("CSV export of the audit log (streamed)")
    peaks = {}
    for step, size in enumerate(sizes):
        _grow_chain(to=size, now=now, step=step)
        rows = 0

        def export() -> None:
            nonlocal rows
            response = client.post(EXPORT_URL, {"format": "csv"})
            assert response.status_code == 200, response.status_code
            assert response.streaming, "the export must stream"
            lines = 0
            for chunk in response.streaming_content:
                lines += chunk.count(b"\n")
            response.close()
            rows = lines - 1  # the header

        m = measure(export, repeat=3, memory=True)
        peaks[size] = m.peak_mb or 0.0
        fig.rows.append(
            {
                "events": size,
                "rows_exported": rows,
                "seconds": round(m.seconds, 2),
                "rows_per_s": round(rows / m.seconds),
                "peak_mb": round(peaks[size], 1),
                "queries": m.queries,
            }
        )
        # Every event recorded before the export started (earlier exports included).
        assert rows >= size, (rows, size)
        fig.summary[f"export_seconds_{size}"] = round(m.seconds, 2)
        fig.summary[f"export_peak_mb_{size}"] = round(peaks[size], 1)
        fig.summary[f"export_queries_{size}"] = m.queries
    small, large = sizes
    growth = peaks[large] / peaks[small]
    fig.summary[f"export_peak_growth_{large}_over_{small}"] = round(growth, 2)
    fig.target(
        f"export memory flat: peak({large}) <= 1.5 x peak({small}) for {large // small}x the rows",
        growth <= 1.5,
    )
    fig.target(f"export peak memory <= 100 MB at {large}", peaks[large] <= 100)
    return fig


def _oldest_url(client: Any, url: str) -> str:
    """The last page's URL, as the page links it ("Oldest")."""
    html = client.get(url).content.decode()
    match = _OLDEST_LINK.search(html)
    assert match, "the first page links the oldest page"
    return AUDIT_URL + unescape(match.group(1))


def pages_figure(*, client: Any, size: int, now: datetime, step: int) -> Figure:
    """First and last page of the audit log, unfiltered and filtered, at ``size`` events."""
    _grow_chain(to=size, now=now, step=step)
    if connection.vendor == "postgresql":
        # What autovacuum does shortly after a bulk load: planner statistics for the new rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    integration_id = (
        AuditEvent.objects.filter(integration_id__isnull=False)
        .order_by("seq")
        .values_list("integration_id", flat=True)
        .first()
    )
    assert Integration.objects.filter(pk=integration_id).exists()
    filters = {
        "none": "",
        "action": f"action={AuditAction.CREDENTIAL_REVEALED.value}",
        "integration": f"integration={integration_id}",
    }
    fig = Figure(f"audit log pages at {size:,} events")
    worst_queries = 0
    for name, query in filters.items():
        first_url = AUDIT_URL + (f"?{query}" if query else "")
        last_url = _oldest_url(client, first_url)
        for url in (first_url, last_url):
            client.get(url)  # warm

        def page(url: str) -> Callable[[], None]:
            def get() -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            return get

        # First and last page alternate, so noise on the machine hits both alike.
        measured = measure_interleaved(
            {"first": page(first_url), "last": page(last_url)}, repeat=11
        )
        times = {}
        for which, url in (("first", first_url), ("last", last_url)):
            m = measured[which]
            times[which] = m.seconds
            worst_queries = max(worst_queries, m.queries)
            fig.rows.append(
                {
                    "filter": name,
                    "page": which,
                    "url": url.replace(str(integration_id), "<id>"),
                    "ms": round(m.seconds * 1e3, 1),
                    "db_ms": round(m.db_seconds * 1e3, 1),
                    "queries": m.queries,
                }
            )
            fig.summary[f"audit_{name}_{which}_ms"] = round(m.seconds * 1e3, 1)
            fig.summary[f"audit_{name}_{which}_queries"] = m.queries
        ratio = times["last"] / times["first"]
        fig.summary[f"audit_{name}_last_over_first"] = round(ratio, 2)
        fig.target(f"audit log ({name} filter) last/first <= 1.5", ratio <= 1.5)
    fig.summary["audit_events"] = size
    fig.summary["audit_max_queries"] = worst_queries
    fig.target("audit log queries <= 8 on every page", worst_queries <= 8)
    return fig
