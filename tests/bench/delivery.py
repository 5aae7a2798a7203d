"""Delivery throughput: reminders a second from the outbox to a Slack-like stub through a real
Celery worker, next to the stub's own requests a second from a plain HTTP client.

The processes are the integration tests' (``tests/integration/conftest.py``): a private
redis-server on a free port as the broker and ``celery worker`` (prefork, concurrency 2) on the
benchmark's database. The outbox is filled by the real scan; the clock starts when the bench
process starts handing the pending ids to the broker (as the scan does after its commit) and
stops when the last row is marked sent. The baseline posts the same message body from another
process with as many threads as the worker has processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from alerts.models import Channel, Reminder, ReminderStatus
from alerts.scan import deliveries_enqueue, reminders_scan
from keyvault.celery import app as celery_app
from tests.bench import data
from tests.bench.harness import Figure
from tests.factories import slack_channel_make

WORKER_CONCURRENCY = 2  # the worker fixture's; one per core on the benchmark machine


def _wait_all_sent(count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Reminder.objects.filter(status=ReminderStatus.SENT).count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{Reminder.objects.filter(status=ReminderStatus.SENT).count()} of {count} sent"
            )
        time.sleep(0.02)


def send_tasks_to(url: str | None, transport_options: dict[str, Any]) -> None:
    """Point the app's task sending at ``url`` (None: back to the configured broker).

    ``broker_write_url``, because the ``CELERY_BROKER_URL`` environment variable outranks the
    ``broker_url`` setting. The app keeps the connection and producer pools it made for the
    first task it sent (an earlier figure's import asks the configured broker for a scan), so
    it is made to forget them: the next task sent gets the pools of ``url``. kombu keeps one
    pool per broker, so the configured broker's stay open for when the app is pointed back."""
    celery_app.conf.broker_write_url = url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _plain_client_seconds(url: str, *, count: int, body: bytes, tmp: Path) -> float:
    body_file = tmp / "body.json"
    body_file.write_bytes(body)
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.plain_client", url, str(count),
         str(WORKER_CONCURRENCY), str(body_file)],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout.split()  # fmt: skip
    seconds, failures = float(out[0]), int(out[1])
    assert failures == 0, f"{failures} plain requests failed"
    return seconds


def delivery_figure(*, count: int) -> Figure:
    """Deliver ``count`` reminders through a real worker; compare with the plain client."""
    # Imported here: they are test helpers (pytest fixtures live next to them).
    from tests.alerts.outbox_helpers import database_url_for_subprocess
    from tests.integration.conftest import Celery, RedisServer
    from tests.stubs import SlackStub

    if shutil.which("redis-server") is None:
        raise RuntimeError(
            "the delivery figure starts a private redis-server, which is not installed: "
            "'apt-get install redis-server' (make test installs it too)"
        )
    fig = Figure(f"delivery throughput, {count:,} reminders, outbox -> worker -> Slack stub")
    now: datetime = timezone.now()  # the worker reads the real clock
    with tempfile.TemporaryDirectory(prefix="kvbench-") as tmp_dir, SlackStub() as slack:
        tmp = Path(tmp_dir)
        data.wipe()
        Channel.objects.all().delete()
        slack_channel_make(name="#bench", url=slack.webhook_url())
        # Every credential 5-6 days from expiry: one pending (7-day) reminder each.
        data.build_credentials(
            current=count, revoked=0, now=now, seed=3, prefix="d ", expiry_days=(5.1, 5.9)
        )
        reminders_scan(now=now, enqueue=False)
        ids = list(
            Reminder.objects.filter(status=ReminderStatus.PENDING)
            .order_by("id")
            .values_list("id", flat=True)
        )
        assert len(ids) == count, (len(ids), count)
        redis = RedisServer(log_path=tmp / "redis.log").start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(Path.cwd()),
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": redis.url,
            "LOG_LEVEL": "INFO",
        }
        celery = Celery(tmp_path=tmp, base_env=env)
        saved = (celery_app.conf.get("broker_write_url"), celery_app.conf.broker_transport_options)
        try:
            celery.worker()
            send_tasks_to(redis.url, {})
            start = time.perf_counter()
            sent = deliveries_enqueue(ids=ids, now=timezone.now())
            assert sent == count, (sent, count)
            slack.wait_for_requests(count, timeout=600)
            _wait_all_sent(count, timeout=120)
            seconds = time.perf_counter() - start
        except Exception:
            print(celery.logs(), file=sys.stderr)
            raise
        finally:
            celery.stop_all()
            redis.stop()
            celery_app.pool.force_close_all()  # the figure's broker is gone
            send_tasks_to(*saved)
        body = slack.requests[0].body
        assert len(slack.requests) == count, "each reminder sent once"
        slack.reset()
        plain = _plain_client_seconds(slack.webhook_url(), count=count, body=body, tmp=tmp)
    ours_rps, plain_rps = count / seconds, count / plain
    ratio = ours_rps / plain_rps
    fig.rows.append(
        {
            "reminders": count,
            "seconds": round(seconds, 2),
            "reminders_per_s": round(ours_rps, 1),
            "plain_client_seconds": round(plain, 2),
            "plain_client_requests_per_s": round(plain_rps, 1),
            "ratio": round(ratio, 3),
            "worker_concurrency": WORKER_CONCURRENCY,
            "message_bytes": len(body),
        }
    )
    fig.summary["delivery_reminders"] = count
    fig.summary["delivery_per_s"] = round(ours_rps, 1)
    fig.summary["delivery_stub_plain_per_s"] = round(plain_rps, 1)
    fig.summary["delivery_ratio"] = round(ratio, 3)
    data.wipe()
    return fig
