"""Delivery under faults with real processes: a real Celery worker and beat on a private
redis-server, Slack as a local HTTP stub. Times are measured at the stub."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import pytest
import redis

from alerts.models import Reminder, ReminderStatus
from keyvault.models import AuditAction, AuditEvent, Credential
from tests.integration.conftest import FAST, ROOT, Celery, RedisServer, wait_until
from tests.stubs import SlackStub

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BEAT_PERIOD = float(FAST["KEYVAULT_SCAN_INTERVAL_SECONDS"])


def _delivery_messages(queue: redis.Redis) -> int:
    """Delivery task messages waiting in the default queue (beat's scans share it).

    A waiting message's row is pending: a worker takes the message off the queue before it can
    claim the row. (Messages a worker holds are left out: with late acknowledgement a task's
    message is acknowledged a moment after its row was marked sent.)
    """
    waiting = [json.loads(raw) for raw in queue.lrange("celery", 0, -1)]
    return sum(m.get("headers", {}).get("task") == "alerts.tasks.deliver_reminder" for m in waiting)


def _pending_reminders() -> int:
    return Reminder.objects.filter(status=ReminderStatus.PENDING).count()


def test_scans_repeated_while_no_worker_runs_leave_one_message_per_reminder(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    owed = 10
    for i in range(owed):
        expiring(days=7, name=f"Integration {i}")
    env = celery.env(CELERY_BROKER_URL=redis_server.url)
    for _ in range(4):  # four scans while the workers are down
        subprocess.run(
            [sys.executable, "manage.py", "scan_expiring"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    queue = redis.Redis(host="127.0.0.1", port=redis_server.port)
    assert _delivery_messages(queue) == owed
    queue.close()

    celery.worker(CELERY_BROKER_URL=redis_server.url)
    slack.wait_for_requests(owed, timeout=60)
    time.sleep(2 * BEAT_PERIOD)

    assert len(slack.requests) == owed
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == owed


def test_rate_limited_attempts_never_come_sooner_than_retry_after(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    expiring(days=7)
    slack.script(*[(429, {"Retry-After": "2"})] * 5, 200)
    broker = {
        "CELERY_BROKER_URL": redis_server.url,
        # One send waits out two 2 s rate limits inline (over 4 s): the claim timeout, and the
        # delivery time limit derived from it, must be longer than that, as in production.
        "KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS": "30",
    }
    celery.worker(**broker)
    celery.beat(**broker)

    requests = slack.wait_for_requests(6, timeout=90)

    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 2.0 for gap in gaps), gaps
    time.sleep(3 * BEAT_PERIOD)
    assert len(slack.requests) == 6  # delivered once, then nothing more
    row = Reminder.objects.get(threshold=7)
    assert row.status == ReminderStatus.SENT
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_SENT).count() == 1


def test_after_a_broker_outage_waiting_messages_never_outnumber_pending_reminders(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    # A slow provider, so reminders wait in the queue across several scans.
    slack.delay = 0.3
    owed = 20
    broker = {"CELERY_BROKER_URL": redis_server.url}
    worker = celery.worker(**broker)
    celery.beat(**broker)
    redis_server.stop()
    for i in range(owed):
        expiring(days=7, name=f"Integration {i}")
    time.sleep(3 * BEAT_PERIOD)  # scans record the reminders but cannot hand them over
    redis_server.start()
    queue = redis.Redis(host="127.0.0.1", port=redis_server.port)
    samples: list[tuple[int, int]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if worker.exited:  # see test_reminders_e2e: Celery may exit when the broker drops
            worker = celery.worker(**broker)
        # Pending rows first, then the queue: a message taken between the two reads can only
        # make the queue look shorter, never longer.
        pending = _pending_reminders()
        samples.append((_delivery_messages(queue), pending))
        if Reminder.objects.filter(status=ReminderStatus.SENT).count() == owed:
            break
        time.sleep(0.05)
    queue.close()

    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == owed
    assert max(length for length, _ in samples) > 0, "the queue was never seen holding work"
    assert all(messages <= pending for messages, pending in samples), [
        s for s in samples if s[0] > s[1]
    ][:5]
    assert len(slack.requests) == owed


PASTE_SCRIPT = """
from datetime import timedelta
from django.utils import timezone
from keyvault.accounts.services import user_create
from keyvault.models import Role
from tests.factories import credential_make
now = timezone.now()
admin = user_create(username="paster", password="p" * 20, role=Role.ADMIN)
credential_make(actor=admin, name="Pasted with two days left", now=now, issued_at=now,
                expires_at=now + timedelta(days=2, hours=1))
"""


def test_a_key_pasted_with_two_days_left_is_reminded_without_waiting_for_a_periodic_scan(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    slack: SlackStub,
) -> None:
    channels()
    # A worker but no beat: no periodic scan runs, only the one the paste asks for.
    celery.worker(CELERY_BROKER_URL=redis_server.url)
    started = time.monotonic()

    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PASTE_SCRIPT],
        cwd=ROOT,
        env=celery.env(CELERY_BROKER_URL=redis_server.url),
        check=True,
        capture_output=True,
        timeout=60,
    )

    [request] = slack.wait_for_requests(1, timeout=30)
    assert "Pasted with two days left" in request.text
    assert time.monotonic() - started < 30
    rows = Reminder.objects.filter(credential__integration__name="Pasted with two days left")
    # The stub answered; the worker is recording the outcome.
    wait_until(
        lambda: not rows.filter(status=ReminderStatus.SENDING).exists(),
        timeout=10,
        what="the outcome to be recorded",
    )
    # The most urgent threshold crossed is sent; the earlier ones are recorded as skipped.
    assert dict(rows.values_list("threshold", "status")) == {
        30: ReminderStatus.SKIPPED,
        14: ReminderStatus.SKIPPED,
        7: ReminderStatus.SKIPPED,
        3: ReminderStatus.SENT,
    }


def test_a_worker_killed_at_random_moments_loses_nothing_and_flags_every_resend(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    owed = 30
    for i in range(owed):
        expiring(days=7, name=f"Integration {i}")
    slack.delay = (0.0, 0.3)  # the provider holds each fully received request a while
    broker = {
        "CELERY_BROKER_URL": redis_server.url,
        # A killed worker may hold a message it had not claimed yet: Redis keeps it until its
        # visibility timeout, and the scan hands the row over again after the requeue time
        # (hours in production). Shortened here, as the claim timeout is, to see it arrive.
        "KEYVAULT_REMINDER_REQUEUE_SECONDS": "5",
    }
    worker = celery.worker(**broker)
    celery.beat(**broker)
    chance = random.Random(12)
    for _ in range(6):
        time.sleep(chance.uniform(0.2, 1.5))
        worker.kill()  # SIGKILL, wherever it is: mid-send, between sends, idle
        worker = celery.worker(**broker)

    sent = Reminder.objects.filter(status=ReminderStatus.SENT)
    deadline = time.monotonic() + 120
    while sent.count() < owed and time.monotonic() < deadline:
        if worker.exited:
            worker = celery.worker(**broker)
        time.sleep(0.2)
    time.sleep(2 * BEAT_PERIOD)

    assert sent.count() == owed  # none lost
    seen = Counter(
        key
        for request in slack.requests
        for key in re.findall(r"kvr_[0-9a-f]{32}", request.text)[:1]
    )
    rows = {r.idempotency_key: r for r in Reminder.objects.filter(status=ReminderStatus.SENT)}
    assert set(seen) == set(rows)  # every owed reminder arrived
    resent = [key for key, count in seen.items() if count > 1]
    # Every reminder the provider saw more than once was flagged, on the row and in the audit.
    assert all(rows[key].possible_duplicate for key in resent), resent
    flagged = AuditEvent.objects.filter(
        action=AuditAction.REMINDER_SENT, details__possible_duplicate=True
    ).count()
    assert flagged == sum(r.possible_duplicate for r in rows.values())
