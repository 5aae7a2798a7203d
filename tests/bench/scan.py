"""Reminder scan figure: ``alerts.scan.reminders_scan`` against one hand-written SQL statement.

The baseline does the same selection and outbox insert as the scan, on the same data, in one
``INSERT ... SELECT``: current credentials of integrations not archived inside the reminder
window, joined to the channels
that reach their integration (default or linked, with somebody to write to), every threshold
crossed (calendar days, plus one a day overdue) that is more urgent than the most urgent one
already recorded, the most urgent pending and the others skipped, due at the local midnight
the threshold was crossed, in key order, ``ON CONFLICT DO NOTHING``. It handles the default
thresholds only (the benchmark data has no per-integration override) and counts days in UTC
(the benchmark runs with ``TIME_ZONE=UTC``); the scan does the general case.

The outbox is emptied before every run, so each run inserts everything: the first scan after
an outage, the most a scan ever has to write.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from alerts import policy
from alerts.models import Reminder
from alerts.scan import reminders_scan
from tests.bench import data
from tests.bench.harness import Figure, measure_interleaved

#: What both engines' baselines share: the (credential, channel) pairs, the thresholds each
#: owes, and the insert of those rows (only the due date's arithmetic differs).
_PAIRS_OWED_INSERT = """pairs AS (
    SELECT cand.cid, cand.exp_day, cand.days, ch.id AS chid
    FROM cand JOIN alerts_channel ch
      ON (ch.is_default OR EXISTS (
              SELECT 1 FROM alerts_channel_integrations l
              WHERE l.channel_id = ch.id AND l.integration_id = cand.iid))
     AND (ch.kind <> 'email' OR trim(ch.email_recipients) <> ''
          OR (ch.email_to_owner AND cand.owner_email <> ''))
),
owed AS (
    SELECT p.cid, p.chid, th.t, p.exp_day
    FROM pairs p JOIN th ON th.t >= p.days
    WHERE th.t < COALESCE((SELECT MIN(r.threshold) FROM alerts_reminder r
                           WHERE r.credential_id = p.cid AND r.channel_id = p.chid),
                          2147483647)
)
INSERT INTO alerts_reminder
    (credential_id, channel_id, threshold, status, due_at, created_at, attempts, last_error,
     possible_duplicate)
SELECT cid, chid, t,
       CASE WHEN t = MIN(t) OVER (PARTITION BY cid, chid) THEN 'pending' ELSE 'skipped' END,
"""

SQLITE_BASELINE = (
    """
WITH RECURSIVE
cand AS (
    SELECT c.id AS cid, c.integration_id AS iid, i.owner_email AS owner_email,
           date(c.expires_at) AS exp_day,
           CAST(julianday(date(c.expires_at)) - julianday(date(%s)) AS INTEGER) AS days
    FROM keyvault_credential c JOIN keyvault_integration i ON i.id = c.integration_id
    WHERE c.state = 'current' AND i.archived_at IS NULL AND c.expires_at <= %s
),
overdue(t) AS (
    SELECT -1 UNION ALL SELECT t - 1 FROM overdue WHERE t > (SELECT MIN(days) FROM cand)
),
th(t) AS (SELECT value FROM json_each(%s) UNION ALL SELECT t FROM overdue),
"""  # noqa: S608 (constant text only; values are bound as parameters)
    + _PAIRS_OWED_INSERT
    + """       datetime(exp_day, (-t) || ' days'), %s, 0, '', FALSE
FROM owed WHERE true
ORDER BY cid, chid, t
ON CONFLICT DO NOTHING
"""
)

POSTGRESQL_BASELINE = (
    """
WITH
cand AS (
    SELECT c.id AS cid, c.integration_id AS iid, i.owner_email AS owner_email,
           (c.expires_at AT TIME ZONE 'UTC')::date AS exp_day,
           (c.expires_at AT TIME ZONE 'UTC')::date - (%s::timestamptz AT TIME ZONE 'UTC')::date
               AS days
    FROM keyvault_credential c JOIN keyvault_integration i ON i.id = c.integration_id
    WHERE c.state = 'current' AND i.archived_at IS NULL AND c.expires_at <= %s
),
th AS (
    SELECT unnest(%s::int[]) AS t
    UNION ALL
    SELECT generate_series(-1, (SELECT MIN(days) FROM cand), -1)
),
"""  # noqa: S608 (constant text only; values are bound as parameters)
    + _PAIRS_OWED_INSERT
    + """       (exp_day - t)::timestamp AT TIME ZONE 'UTC', %s, 0, '', FALSE
FROM owed
ORDER BY cid, chid, t
ON CONFLICT DO NOTHING
"""
)


def baseline_scan(*, now: datetime) -> int:
    """The hand-written statement, in its own transaction; returns the rows inserted."""
    thresholds = list(settings.KEYVAULT_REMINDER_THRESHOLDS)
    horizon = now + timedelta(days=policy.window_days(thresholds))
    ops = connection.ops
    if connection.vendor == "postgresql":
        sql, params = POSTGRESQL_BASELINE, [now, horizon, thresholds, now]
    else:
        now_db, horizon_db = (
            ops.adapt_datetimefield_value(now),
            ops.adapt_datetimefield_value(horizon),
        )
        sql, params = SQLITE_BASELINE, [now_db, horizon_db, json.dumps(thresholds), now_db]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The planner overestimates this statement and would spend ~0.6 s compiling it
            # (JIT); the baseline is the best the database can do, so that is switched off.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _outbox() -> set[tuple[Any, ...]]:
    return set(
        Reminder.objects.values_list("credential_id", "channel_id", "threshold", "status", "due_at")
    )


def scan_figure(*, sizes: tuple[int, ...], now: datetime, slack_url: str) -> Figure:
    """Wall time, queries and peak memory of one scan at each number of current credentials,
    next to the baseline statement on the same data."""
    if settings.TIME_ZONE != "UTC":  # the baseline counts calendar days in UTC
        raise RuntimeError("the scan benchmark runs with TIME_ZONE=UTC")
    fig = Figure("reminder scan (empty outbox: full insert)")
    data.wipe()
    data.channels_reset(slack_url=slack_url)
    built, queries, times = 0, {}, {}
    for size in sizes:
        data.build_credentials(current=size - built, now=now, seed=size, prefix=f"s{size} ")
        built = size
        data.outbox_reset()
        reminders_scan(now=now, enqueue=False)  # warm-up, and the rows to compare with
        ours_rows = _outbox()
        data.outbox_reset()
        baseline_scan(now=now)
        same = _outbox() == ours_rows
        repeat = 3 if size >= 50_000 else 5
        measured = measure_interleaved(
            {
                "scan": lambda: reminders_scan(now=now, enqueue=False),
                "baseline": lambda: baseline_scan(now=now),
            },
            repeat=repeat,
            before_each=data.outbox_reset,
            memory=("scan",),
        )
        ours, base = measured["scan"], measured["baseline"]
        ratio = ours.seconds / base.seconds
        queries[size], times[size] = ours.queries, ours.seconds
        fig.rows.append(
            {
                "current_credentials": size,
                "outbox_rows": len(ours_rows),
                "scan_ms": round(ours.seconds * 1e3, 1),
                "baseline_ms": round(base.seconds * 1e3, 1),
                "ratio": round(ratio, 2),
                "queries": ours.queries,
                "baseline_queries": base.queries,
                "peak_mb": round(ours.peak_mb or 0, 1),
                "same_rows_as_baseline": same,
            }
        )
        fig.summary[f"scan_ms_{size}"] = round(ours.seconds * 1e3, 1)
        fig.summary[f"scan_baseline_ms_{size}"] = round(base.seconds * 1e3, 1)
        fig.summary[f"scan_ratio_{size}"] = round(ratio, 3)
        fig.summary[f"scan_queries_{size}"] = ours.queries
        fig.summary[f"scan_peak_mb_{size}"] = round(ours.peak_mb or 0, 1)
        fig.summary[f"scan_outbox_rows_{size}"] = len(ours_rows)
        fig.target(f"scan inserts the same rows as the baseline at {size}", same)
    data.outbox_reset()
    largest = max(sizes)
    fig.target("scan queries identical at every size", len(set(queries.values())) == 1)
    fig.summary["scan_queries_identical"] = len(set(queries.values())) == 1
    fig.target(f"scan time <= 2x baseline at {largest}", fig.summary[f"scan_ratio_{largest}"] <= 2)
    fig.target(
        f"scan peak memory <= 200 MB at {largest}",
        fig.summary[f"scan_peak_mb_{largest}"] <= 200,
    )
    if {10_000, 100_000} <= set(sizes):
        growth = times[100_000] / times[10_000]
        fig.summary["scan_growth_100000_over_10000"] = round(growth, 2)
        fig.target("scan time(100000)/time(10000) <= 12", growth <= 12)
    return fig
