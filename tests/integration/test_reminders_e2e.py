"""Reminders end to end with real processes: celery worker + beat, a private redis-server (or
the embedded filesystem broker), a Slack-like HTTP server and an SMTP server on 127.0.0.1.

Beat runs the scan every second here; the claim timeout is 4 s.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.models import Reminder, ReminderStatus
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from tests.factories import new_token
from tests.integration.conftest import FAST, Celery, RedisServer, wait_until
from tests.stubs import Reply, SlackStub, SmtpStub

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BEAT_PERIOD = float(FAST["KEYVAULT_SCAN_INTERVAL_SECONDS"])
SETTLE_SECONDS = 2.5  # a few scan periods, to see that nothing more arrives


def statuses(credential: Credential) -> dict[int, str]:
    return dict(
        Reminder.objects.filter(credential=credential, channel__kind="slack").values_list(
            "threshold", "status"
        )
    )


def assert_one_slack_message_for(slack: SlackStub, credential: Credential) -> None:
    time.sleep(SETTLE_SECONDS)
    assert len(slack.requests) == 1
    assert credential.integration.name in slack.requests[0].text
    row = Reminder.objects.get(credential=credential, threshold=7, channel__kind="slack")
    assert row.status == ReminderStatus.SENT


def test_a_credential_seven_days_from_expiry_yields_one_slack_message_and_one_email(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
    smtp: SmtpStub,
) -> None:
    channels(email=True)
    credential = expiring(days=7)
    broker = {"CELERY_BROKER_URL": redis_server.url, "EMAIL_URL": smtp.email_url}

    celery.worker(**broker)
    celery.beat(**broker)

    slack.wait_for_requests(1, timeout=30)
    mail = smtp.wait_for_messages(1, timeout=30)[0]
    assert_one_slack_message_for(slack, credential)
    assert len(smtp.messages) == 1
    assert mail.rcpt_tos == ["it-ops@example.com"]
    assert credential.integration.name in mail.part("text/plain")
    assert credential.integration.name in mail.part("text/html")
    assert statuses(credential) == {30: "skipped", 14: "skipped", 7: "sent"}
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_SENT).count() == 2


def test_a_worker_killed_mid_send_is_replaced_and_the_reminder_is_sent_once(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    credential = expiring(days=7)
    slack.script(Reply(200, hold=True))  # the first request hangs until released
    broker = {"CELERY_BROKER_URL": redis_server.url}
    worker = celery.worker(**broker)
    celery.beat(**broker)

    slack.wait_for_requests(1, timeout=30)
    worker.kill()
    slack.release()  # its answer goes to a dead socket: the provider never accepted it
    row = Reminder.objects.get(credential=credential, threshold=7)
    assert (row.status, row.attempts) == (ReminderStatus.SENDING, 1)

    celery.worker(**broker)
    # the next scan after the 4 s claim timeout re-opens the row; the new worker sends it
    slack.wait_for_requests(2, timeout=30)

    time.sleep(SETTLE_SECONDS)
    assert len(slack.requests) == 2
    row.refresh_from_db()
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)
    # The first attempt's outcome was never known: the resend says it may be a duplicate.
    assert row.possible_duplicate is True
    sent = AuditEvent.objects.get(action=AuditAction.REMINDER_SENT)
    assert sent.details["possible_duplicate"] is True
    # Both requests carried the same reminder key, for a receiver that deduplicates.
    assert row.idempotency_key in slack.requests[0].text
    assert row.idempotency_key in slack.requests[1].text


def test_a_reminder_owed_while_redis_was_down_arrives_after_it_returns(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
) -> None:
    channels()
    broker = {"CELERY_BROKER_URL": redis_server.url}
    worker = celery.worker(**broker)
    celery.beat(**broker)

    redis_server.stop()
    credential = expiring(days=7)
    time.sleep(2 * BEAT_PERIOD)  # two beat periods without a broker
    assert slack.requests == []
    redis_server.start()

    wait_until(
        lambda: bool(slack.requests) or worker.exited,
        timeout=40,
        what="the reminder (or the worker's exit)",
    )
    if not slack.requests:
        # Celery 5.7.0's worker exits ("Unrecoverable error: AttributeError ... 'hostname'")
        # when the broker connection drops while it holds an unacknowledged message (a task
        # running or reserved at that moment). Production runs workers under a supervisor
        # that restarts them; so does this test, and the outbox makes the restart lossless.
        print(f"worker exited on broker loss (exit status {worker.returncode}); restarting it")
        celery.worker(**broker)
        slack.wait_for_requests(1, timeout=40)
    assert_one_slack_message_for(slack, credential)


def test_rotating_the_credential_stops_further_messages(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
    admin_user: Any,
) -> None:
    channels()
    credential = expiring(days=7)
    slack.script(500)  # the first attempt fails; a retry is due 3 s later
    broker = {"CELERY_BROKER_URL": redis_server.url, "KEYVAULT_REMINDER_RETRY_BASE_SECONDS": "3"}
    celery.worker(**broker)
    celery.beat(**broker)
    slack.wait_for_requests(1, timeout=30)
    wait_until(
        lambda: statuses(credential).get(7) == ReminderStatus.PENDING,
        timeout=10,
        what="the failed attempt to be recorded",
    )

    now = timezone.now()
    secret = rotation_secret_clean(
        credential=credential, scim_url=None, token=new_token(), expires_at=None, now=now
    )
    credential_rotate(credential=credential, secret=secret, actor=admin_user, now=now)

    time.sleep(3 + SETTLE_SECONDS)  # past the retry's countdown and several scans
    assert len(slack.requests) == 1
    credential.refresh_from_db()
    assert credential.state == CredentialState.SUPERSEDED
    assert statuses(credential) == {30: "skipped", 14: "skipped", 7: "cancelled"}
    assert Reminder.objects.exclude(credential=credential).count() == 0


def test_happy_path_on_the_embedded_filesystem_broker_from_the_first_scan(
    celery: Celery,
    channels: Callable[..., None],
    expiring: Callable[..., Credential],
    slack: SlackStub,
    smtp: SmtpStub,
) -> None:
    # The processes use the folder broker under the shared KEYVAULT_VAR_DIR; start it empty.
    queue = Path(settings.VAR_DIR) / "broker" / "queue"
    shutil.rmtree(queue, ignore_errors=True)
    queue.mkdir(parents=True)
    channels(email=True)
    credential = expiring(days=7)
    # A long period: the reminder can only come from the scan beat runs as it starts, as in
    # `make run` ("within one scan period" of starting).
    embedded = {
        "CELERY_BROKER_URL": "filesystem://",
        "EMAIL_URL": smtp.email_url,
        "KEYVAULT_SCAN_INTERVAL_SECONDS": "600",
    }

    celery.worker(**embedded)
    celery.beat(**embedded)

    slack.wait_for_requests(1, timeout=30)
    smtp.wait_for_messages(1, timeout=30)
    assert_one_slack_message_for(slack, credential)
    assert len(smtp.messages) == 1
