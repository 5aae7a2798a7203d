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


def steady_scan_figure(
    *, size: int, now: datetime, build_with_slack_url: str | None = None
) -> Figure:
    """Time and queries of a first scan (empty outbox) and of the next periodic scan once the
    outbox holds what is owed and workers delivered it; for comparison, the same scan while
    every owed row is still pending (handed to the broker, workers down).

    Runs on the credentials already built (the scan figure's largest size), or, with
    ``build_with_slack_url``, on ``size`` credentials built afresh. The target is met at
    100,000 credentials or more; smaller sizes are reported for comparison.
    """
    if build_with_slack_url is not None:
        data.wipe()
        data.channels_reset(slack_url=build_with_slack_url)
        data.build_credentials(current=size, now=now, seed=size, prefix=f"steady{size} ")
    fig = Figure(f"reminder scan, steady state (the outbox already holds what is owed), {size}")
    first = measure(
        lambda: reminders_scan(now=now, enqueue=False), repeat=3, before_each=data.outbox_reset
    )
    data.outbox_reset()
    owed = reminders_scan(now=now, enqueue=False)  # what is owed is recorded ...
    reminders_mark_enqueued(ids=[q.id for q in owed.queued], now=now)  # ... and handed over
    following = now + SCAN_PERIOD
    # Workers down: every owed row still pending, its broker message live.
    waiting = measure(lambda: reminders_scan(now=following, enqueue=False), repeat=3)
    # Workers up: what was owed has been delivered.
    Reminder.objects.filter(status=ReminderStatus.PENDING).update(
        status=ReminderStatus.SENT, sent_at=now
    )
    steady = measure(lambda: reminders_scan(now=following, enqueue=False), repeat=3)
    cheaper = first.seconds / steady.seconds
    fig.rows.append(
        {
            "current_credentials": size,
            "first_scan_ms": round(first.seconds * 1e3, 1),
            "steady_scan_ms": round(steady.seconds * 1e3, 1),
            "times_cheaper": round(cheaper, 1),
            "first_queries": first.queries,
            "steady_queries": steady.queries,
            "steady_ms_all_still_pending": round(waiting.seconds * 1e3, 1),
            "times_cheaper_all_still_pending": round(first.seconds / waiting.seconds, 1),
        }
    )
    fig.summary[f"steady_scan_pending_ms_{size}"] = round(waiting.seconds * 1e3, 1)
    fig.summary[f"steady_scan_ms_{size}"] = round(steady.seconds * 1e3, 1)
    fig.summary[f"steady_scan_times_cheaper_{size}"] = round(cheaper, 2)
    if size >= 100_000:
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
