"""Figures of the tools' doors: a 10,000-row spreadsheet import (time and peak memory), and
``/metrics`` at 100 and 10,000 current credentials (time and queries)."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime
from typing import Any

from django.test import Client, override_settings

from keyvault.inventory.importer import integrations_import
from keyvault.inventory.spreadsheet import table_read
from tests.bench import data
from tests.bench.harness import Figure, measure

METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"
HEADER = ("name", "provider", "identity provider", "owner", "owner email", "expires", "token")


def spreadsheet(rows: int) -> bytes:
    """A CSV of ``rows`` integrations, every other one with a token (the rest metadata only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for n in range(rows):
        token = "ATATT3x" + secrets.token_urlsafe(48) if n % 2 else ""
        writer.writerow(
            [f"imported {n:06d}", "generic_api_key", "okta", f"team {n % 97}",
             f"owner{n % 97}@example.com", f"2027-{n % 12 + 1:02d}-15", token]
        )  # fmt: skip
    return out.getvalue().encode()


def import_figure(*, rows: int, now: datetime, actor: Any) -> Figure:
    """Reading the file and importing every row in one transaction, as the import page does."""
    fig = Figure(f"spreadsheet import of {rows:,} rows (half with a token)")
    body = spreadsheet(rows)

    def run() -> None:
        integrations_import(table=table_read(body), actor=actor, now=now)

    m = measure(run, repeat=3, memory=True, before_each=data.wipe)
    fig.rows.append(
        {
            "rows": rows,
            "seconds": round(m.seconds, 2),
            "db_seconds": round(m.db_seconds, 2),
            "queries": m.queries,
            "peak_mb": round(m.peak_mb or 0, 1),
        }
    )
    fig.summary[f"import_seconds_{rows}"] = round(m.seconds, 2)
    fig.summary[f"import_peak_mb_{rows}"] = round(m.peak_mb or 0, 1)
    fig.target(f"import of {rows:,} rows <= 30 s", m.seconds <= 30)
    fig.target(f"import of {rows:,} rows peak memory <= 200 MB", (m.peak_mb or 0) <= 200)
    data.wipe()
    return fig


def metrics_figure(*, sizes: tuple[int, int], now: datetime) -> Figure:
    """``GET /metrics`` with the bearer token, at two numbers of current credentials."""
    fig = Figure("/metrics scrape")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    queries = []
    with override_settings(KEYVAULT_METRICS_TOKEN=METRICS_TOKEN):
        for size in sizes:
            data.wipe()
            data.build_credentials(current=size, now=now, prefix=f"m{size} ")

            def scrape() -> None:
                response = client.get("/metrics")
                assert response.status_code == 200, response.status_code

            scrape()  # warm
            m = measure(scrape, repeat=5)
            queries.append(m.queries)
            fig.rows.append(
                {
                    "current_credentials": size,
                    "ms": round(m.seconds * 1e3, 1),
                    "db_ms": round(m.db_seconds * 1e3, 1),
                    "queries": m.queries,
                }
            )
            fig.summary[f"metrics_ms_{size}"] = round(m.seconds * 1e3, 1)
    fig.target(f"/metrics at {sizes[-1]:,} credentials <= 200 ms", m.seconds <= 0.2)
    fig.target("/metrics queries identical at both sizes", len(set(queries)) == 1)
    fig.summary["metrics_queries_identical"] = len(set(queries)) == 1
    data.wipe()
    return fig
