"""The benchmark's figures, in the order they run, and the two small ones (crypto, dashboard).

Each figure returns a ``Figure`` with table rows, targets and summary keys. The order lets
figures reuse data: the scan grows one set of credentials from its smallest size to its
largest, and the audit figures grow one hash chain from the export's sizes to the pages' size.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.bench import api, auditlog, data, delivery, feeds, scan, steady
from tests.bench.harness import Figure, measure, median_time

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: Interleaved rounds of the crypto figure (raw, then keyvault's, each ``ops`` operations).
CRYPTO_ROUNDS = 11
#: The scan's channels point here; the scan only records reminders, it never sends them.
UNUSED_SLACK_URL = "http://127.0.0.1:9/services/T0BENCH/B0BENCH/never-contacted"


@dataclass(frozen=True)
class Sizes:
    crypto_ops: int
    dashboard: tuple[int, int]
    delivery: int
    scan: tuple[int, ...]
    audit_integrations: int
    export: tuple[int, int]
    audit_pages: int
    metrics: tuple[int, int] = (100, 10_000)
    import_rows: int = 10_000


FULL = Sizes(
    crypto_ops=100_000,
    dashboard=(100, 10_000),
    delivery=1_000,
    scan=(1_000, 10_000, 100_000),
    audit_integrations=1_000,
    export=(10_000, 100_000),
    audit_pages=1_000_000,
)
QUICK = Sizes(
    crypto_ops=10_000,
    dashboard=(100, 1_000),
    delivery=200,
    scan=(1_000, 10_000),
    audit_integrations=200,
    export=(5_000, 25_000),
    audit_pages=50_000,
    import_rows=2_000,
)


def run_all(*, quick: bool, progress: Callable[[str], Any] = print) -> list[Figure]:
    """Every figure at the full or the quick sizes, in an order that lets them share data."""
    sizes = QUICK if quick else FULL
    figures: list[Figure] = []

    def run(name: str, fn: Callable[..., Figure], **kwargs: Any) -> None:
        started = time.perf_counter()
        progress(f"bench: {name} …")
        figures.append(fn(**kwargs))
        progress(f"bench: {name} done in {time.perf_counter() - started:.1f} s")

    run("crypto", crypto_figure, ops=sizes.crypto_ops)
    run("dashboard", dashboard_figure, sizes=sizes.dashboard)
    run("metrics", feeds.metrics_figure, sizes=sizes.metrics, now=NOW)
    run("import", feeds.import_figure, rows=sizes.import_rows, now=NOW, actor=_admin_user())
    run("API list", api.api_list_figure, sizes=sizes.dashboard, now=NOW)
    run("delivery", delivery.delivery_figure, count=sizes.delivery)
    run("reminder scan", scan.scan_figure, sizes=sizes.scan, now=NOW, slack_url=UNUSED_SLACK_URL)
    run("steady-state scan", steady.steady_scan_figure, size=max(sizes.scan), now=NOW)
    run("worker outage", steady.outage_messages_figure, now=NOW)
    if max(sizes.scan) > 10_000:  # the steady state at 10k too, on 10k credentials of its own
        run(
            "steady-state scan at 10k",
            steady.steady_scan_figure,
            size=10_000,
            now=NOW,
            build_with_slack_url=UNUSED_SLACK_URL,
        )
    data.wipe()
    data.build_credentials(current=sizes.audit_integrations, now=NOW, prefix="a ")
    client = _admin_client()
    run("audit export", auditlog.export_figure, client=client, sizes=sizes.export, now=NOW)
    run(
        "audit log pages",
        auditlog.pages_figure,
        client=client,
        size=sizes.audit_pages,
        now=NOW,
        step=len(sizes.export),
    )
    return figures


def crypto_figure(*, ops: int) -> Figure:
    """encrypt + decrypt of a 64-byte token through keyvault.crypto.cipher vs raw AESGCM (each raw
    operation also draws its fresh 96-bit nonce, as any correct use of AES-GCM must)."""
    from keyvault.crypto import cipher

    token = b"t" * 64
    aad = b"keyvault_credential.token_ciphertext.0f6a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    raw_key = AESGCM(os.urandom(32))

    def raw() -> None:
        for _ in range(ops):
            nonce = os.urandom(12)
            raw_key.decrypt(nonce, raw_key.encrypt(nonce, token, aad), aad)

    def ours() -> None:
        for _ in range(ops):
            cipher.decrypt(cipher.encrypt(token, aad), aad)

    # Interleave the two so machine noise hits both alike; the ratio is taken per round (the
    # two runs of a round see the same machine) and its median reported.
    raw_t, ours_t, ratios = [], [], []
    for _ in range(CRYPTO_ROUNDS):
        raw_t.append(median_time(raw, repeat=1))
        ours_t.append(median_time(ours, repeat=1))
        ratios.append(ours_t[-1] / raw_t[-1])
    raw_s, ours_s = statistics.median(raw_t), statistics.median(ours_t)
    ratio = statistics.median(ratios)
    fig = Figure("encrypt + decrypt, 64-byte token")
    fig.rows.append(
        {
            "ops": ops,
            "raw_us_per_op": round(raw_s / ops * 1e6, 2),
            "keyvault_us_per_op": round(ours_s / ops * 1e6, 2),
            "ratio": round(ratio, 2),
            "ratio_range": f"{min(ratios):.2f}-{max(ratios):.2f}",
        }
    )
    fig.target("crypto ratio <= 1.5x raw AESGCM", ratio <= 1.5)
    fig.summary["crypto_ratio"] = round(ratio, 3)
    return fig


def _admin_user() -> Any:
    from django.contrib.auth import get_user_model

    from keyvault.accounts.services import user_create
    from keyvault.models import Role

    return get_user_model().objects.filter(username="bench").first() or user_create(
        username="bench", password="bench-password-unused", role=Role.ADMIN
    )


def _admin_client() -> Any:
    from django.test import Client

    client = Client()
    client.force_login(_admin_user())
    return client


#: The dashboard's first page plain, sliced by a count and sorted by a column (each one row).
DASHBOARD_URLS = {"/": "plain", "/?show=soon&sort=-owner": "sliced", "/?sort=status": "by status"}


def dashboard_figure(*, sizes: tuple[int, int], repeat: int = 7) -> Figure:
    """Server time and queries of the dashboard's first page at two table sizes: plain, sliced
    by a count of the counts strip and sorted by a column, and sorted by status.

    Also, for information (no target), the audit log's first page on the same data: its
    integration filter is a text box, so its cost should not follow the number of integrations.
    """
    fig = Figure(
        "dashboard first page, plain / sliced / sorted (and, for information, the audit log's)"
    )
    client = _admin_client()
    queries: dict[str, list[int]] = {url: [] for url in DASHBOARD_URLS}
    for size in sizes:
        data.wipe()
        revoked = round(size * data.REVOKED_SHARE)
        data.build_credentials(current=size - revoked, revoked=revoked, now=NOW, prefix=f"d{size} ")
        measured = {}
        for url in (*DASHBOARD_URLS, auditlog.AUDIT_URL):
            client.get(url)  # warm caches (templates, session)

            def page(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            measured[url] = measure(page, repeat=repeat if url in DASHBOARD_URLS else 3)
        audit = measured[auditlog.AUDIT_URL]
        for url, variant in DASHBOARD_URLS.items():
            m = measured[url]
            queries[url].append(m.queries)
            fig.rows.append(
                {
                    "integrations": size,
                    "page": variant,
                    "ms": round(m.seconds * 1e3, 1),
                    "db_ms": round(m.db_seconds * 1e3, 1),
                    "queries": m.queries,
                    "audit_log_ms": round(audit.seconds * 1e3, 1),
                    "audit_log_queries": audit.queries,
                }
            )
            suffix = "" if url == "/" else f"_{variant.replace(' ', '_')}"
            fig.summary[f"dashboard{suffix}_queries_{size}"] = m.queries
            fig.summary[f"dashboard{suffix}_ms_{size}"] = round(m.seconds * 1e3, 1)
        fig.summary[f"audit_page_ms_at_{size}_integrations"] = round(audit.seconds * 1e3, 1)
    identical = all(len(set(counts)) == 1 for counts in queries.values())
    most = max(max(counts) for counts in queries.values())
    fig.target("dashboard queries identical at both sizes (plain, sliced, sorted)", identical)
    fig.target("dashboard queries <= 12", most <= 12)
    fig.summary["dashboard_queries_identical"] = identical
    return fig
