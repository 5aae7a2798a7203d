"""Scans after the first: the steady state (the outbox already holds what is owed), and the
broker messages a worker outage of one hour leaves per pending reminder.

Both run on the credentials the scan figure built (its largest size), right after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.models import Reminder, ReminderStatus
from alerts.scan import reminders_mark_enqueued, reminders_scan
from tests.bench import data
from tests.bench.harness import Figure, measure

#: The periodic scan's default period.
SCAN_PERIOD = timedelta(minutes=15)


def steady_scan_figure(*, size: int, now: datetime) -> Figure:
    """Time and queries of a first scan (empty outbox) and of the next one (nothing new)."""
    fig = Figure("reminder scan, steady state (the outbox already holds what is owed)")
    first = measure(
        lambda: reminders_scan(now=now, enqueue=False), repeat=3, before_each=data.outbox_reset
    )
    data.outbox_reset()
    reminders_scan(now=now, enqueue=False)  # what is owed is recorded
    steady = measure(lambda: reminders_scan(now=now, enqueue=False), repeat=3)
    cheaper = first.seconds / steady.seconds
    fig.rows.append(
        {
            "current_credentials": size,
            "first_scan_ms": round(first.seconds * 1e3, 1),
            "steady_scan_ms": round(steady.seconds * 1e3, 1),
            "times_cheaper": round(cheaper, 1),
            "first_queries": first.queries,
            "steady_queries": steady.queries,
        }
    )
    fig.summary[f"steady_scan_ms_{size}"] = round(steady.seconds * 1e3, 1)
    fig.summary[f"steady_scan_times_cheaper_{size}"] = round(cheaper, 2)
    fig.target(f"steady-state scan >= 10x cheaper than the first at {size}", cheaper >= 10)
    data.outbox_reset()
    return fig


def outage_messages_figure(*, now: datetime, hours: int = 1) -> Figure:
    """Broker messages per pending reminder after ``hours`` of scans with no worker running.

    Each scan's queue is handed to the broker as ``deliveries_enqueue`` would (recorded as
    enqueued); nothing consumes it, as when every worker is down. Simulated time, one scan per
    default scan period.
    """
    fig = Figure(f"broker messages during a {hours}-hour worker outage")
    data.outbox_reset()
    messages, scans = 0, 0
    moment = now
    while moment <= now + timedelta(hours=hours):
        queued = [q.id for q in reminders_scan(now=moment, enqueue=False).queued]
        reminders_mark_enqueued(ids=queued, now=moment)
        messages += len(queued)
        scans += 1
        moment += SCAN_PERIOD
    pending = Reminder.objects.filter(status=ReminderStatus.PENDING).count()
    per_row = messages / pending if pending else 0.0
    fig.rows.append(
        {"scans": scans, "messages": messages, "pending": pending, "per_pending_row": per_row}
    )
    fig.summary["outage_messages_per_pending_row"] = round(per_row, 3)
    fig.target("broker messages per pending row during the outage <= 1", per_row <= 1)
    data.outbox_reset()
    return fig
