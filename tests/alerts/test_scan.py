"""The reminder scan: what it records in the outbox, what it queues, and that it is idempotent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alerts.delivery import reminder_claim
from alerts.models import Reminder, ReminderPlan, ReminderStatus, ScanHeartbeat
from alerts.scan import reminders_scan
from alerts.sweep import STALE_CLAIM_MESSAGE
from keyvault.celery import app as celery_app
from keyvault.models import AuditAction, AuditEvent, CredentialState
from keyvault.rotation.services import credential_revoke, credential_rotate, rotation_secret_clean
from keyvault.rotation.signals import credential_retired
from tests.alerts.outbox_helpers import (
    DueFactory,
    due_credential,
    email_channel,
    no_channels,
    pending_ids,
    rows,
    slack_channel,
)
from tests.factories import NOW, email_channel_make, new_token, run_concurrently, slack_channel_make

__all__ = [
    "due_credential",
    "email_channel",
    "no_channels",
    "slack_channel",
]  # fixtures used by name

P, S, SENT = ReminderStatus.PENDING, ReminderStatus.SKIPPED, ReminderStatus.SENT


def test_scan_records_the_most_urgent_threshold_and_skips_the_others(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=5)

    result = reminders_scan(now=NOW, enqueue=False)

    assert rows(credential) == {30: S, 14: S, 7: P}
    assert (result.created, result.skipped) == (1, 2)
    seven = Reminder.objects.get(credential=credential, threshold=7)
    assert [q.id for q in result.queued] == [seven.pk]
    assert result.queued[0].integration == credential.integration.name
    assert result.queued[0].channel == email_channel.name
    # due_at: local midnight of the day 7 days before the expiry date (TIME_ZONE is UTC here)
    assert seven.due_at == (credential.expires_at - timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert seven.created_at == NOW


def test_rescan_inserts_nothing_new(due_credential: DueFactory, email_channel: Any) -> None:
    due_credential(days=5)
    reminders_scan(now=NOW, enqueue=False)
    before = list(Reminder.objects.order_by("id").values_list("id", "threshold", "status"))

    again = reminders_scan(now=NOW + timedelta(minutes=15), enqueue=False)

    assert (again.created, again.skipped) == (0, 0)
    assert list(Reminder.objects.order_by("id").values_list("id", "threshold", "status")) == before


def test_each_threshold_is_recorded_once_as_time_passes(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=31)
    for day in range(0, 34):
        now = NOW + timedelta(days=day, hours=1)
        for reminder_id in pending_ids():  # pretend every reminder was delivered at once
            Reminder.objects.filter(pk=reminder_id).update(status=SENT)
        reminders_scan(now=now, enqueue=False)

    assert rows(credential) == {30: SENT, 14: SENT, 7: SENT, 3: SENT, 1: SENT, 0: SENT,
                                -1: SENT, -2: P}  # fmt: skip


def test_reminders_go_to_default_channels_and_the_integrations_own(
    due_credential: DueFactory, no_channels: None, slack: Any
) -> None:
    linked, _ = due_credential(days=7, name="Atlassian (acme)")
    other, _ = due_credential(days=7, name="GitHub (acme)")
    default = email_channel_make(name="IT ops (email)", recipients="it-ops@example.com")
    own = slack_channel_make(
        name="#acme", url=slack.webhook_url(), is_default=False, integrations=(linked.integration,)
    )
    email_channel_make(name="unused", recipients="x@example.com", is_default=False)

    reminders_scan(now=NOW, enqueue=False)

    pairs = set(Reminder.objects.filter(status=P).values_list("credential_id", "channel_id"))
    assert pairs == {(linked.pk, default.pk), (linked.pk, own.pk), (other.pk, default.pk)}


def test_owner_channel_writes_only_about_integrations_with_an_owner_address(
    due_credential: DueFactory, no_channels: None
) -> None:
    with_owner, _ = due_credential(days=7, owner_email="owner@example.com")
    without, _ = due_credential(days=7)
    email_channel_make(name="Integration owners (email)", to_owner=True)

    reminders_scan(now=NOW, enqueue=False)

    assert rows(with_owner) == {30: S, 14: S, 7: P}
    assert rows(without) == {}


def test_credentials_outside_the_window_or_not_current_are_left_alone(
    due_credential: DueFactory, email_channel: Any
) -> None:
    far, _ = due_credential(days=31)
    revoked, _ = due_credential(days=3)
    revoked.state = CredentialState.REVOKED
    revoked.save(update_fields=["state"])

    result = reminders_scan(now=NOW, enqueue=False)

    assert result.candidates == 1  # "far" is inside the window, with nothing crossed yet
    assert rows(far) == {} and rows(revoked) == {}


def test_integration_override_sets_its_thresholds_and_widens_the_window(
    due_credential: DueFactory, email_channel: Any
) -> None:
    early, _ = due_credential(days=45, reminder_thresholds="60, 10")
    default, _ = due_credential(days=45)

    reminders_scan(now=NOW, enqueue=False)

    assert rows(early) == {60: P}
    assert rows(default) == {}


def test_pending_rows_are_queued_again_by_every_scan(
    due_credential: DueFactory, email_channel: Any
) -> None:
    due_credential(days=7)
    first = reminders_scan(now=NOW, enqueue=False)
    second = reminders_scan(now=NOW + timedelta(minutes=15), enqueue=False)

    assert [q.id for q in second.queued] == [q.id for q in first.queued]
    assert len(second.queued) == 1


def test_a_row_backing_off_is_not_queued_before_its_time(
    due_credential: DueFactory, email_channel: Any
) -> None:
    due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)
    Reminder.objects.filter(status=P).update(next_attempt_at=NOW + timedelta(minutes=10))

    assert reminders_scan(now=NOW + timedelta(minutes=5), enqueue=False).queued == ()
    assert len(reminders_scan(now=NOW + timedelta(minutes=10), enqueue=False).queued) == 1


def test_stale_sending_claim_is_reopened_and_queued(
    due_credential: DueFactory, email_channel: Any, settings: Any
) -> None:
    due_credential(days=7)
    reminder_id = reminders_scan(now=NOW, enqueue=False).queued[0].id
    assert reminder_claim(reminder_id=reminder_id, now=NOW)  # then the worker "dies"
    timeout = timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS)

    fresh = reminders_scan(now=NOW + timeout - timedelta(seconds=1), enqueue=False)
    assert (fresh.reopened, fresh.queued) == (0, ())
    assert Reminder.objects.get(pk=reminder_id).status == ReminderStatus.SENDING

    stale = reminders_scan(now=NOW + timeout + timedelta(seconds=1), enqueue=False)
    assert stale.reopened == 1
    assert [q.id for q in stale.queued] == [reminder_id]
    reopened = Reminder.objects.get(pk=reminder_id)
    assert (reopened.status, reopened.attempts) == (P, 1)
    assert reopened.last_error == STALE_CLAIM_MESSAGE


def test_stale_claim_out_of_attempts_is_failed_and_audited(
    due_credential: DueFactory, email_channel: Any, settings: Any
) -> None:
    settings.KEYVAULT_REMINDER_MAX_ATTEMPTS = 1
    due_credential(days=7)
    reminder_id = reminders_scan(now=NOW, enqueue=False).queued[0].id
    assert reminder_claim(reminder_id=reminder_id, now=NOW)

    later = NOW + timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    result = reminders_scan(now=later, enqueue=False)

    assert (result.exhausted, result.reopened, result.queued) == (1, 0, ())
    failed = Reminder.objects.get(pk=reminder_id)
    assert failed.status == ReminderStatus.FAILED
    assert "gave up after 1 attempts" in failed.last_error
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_FAILED)
    assert event.target_id == str(reminder_id)


def test_a_more_urgent_reminder_supersedes_an_older_pending_one(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)  # 7 pending (say Slack is down for days)

    result = reminders_scan(now=NOW + timedelta(days=4), enqueue=False)

    assert rows(credential) == {30: S, 14: S, 7: S, 3: P}
    assert result.superseded == 1
    assert [q.threshold for q in result.queued] == [3]


def test_retiring_a_credential_cancels_its_pending_reminders(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=7)
    other, _ = due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)
    Reminder.objects.filter(credential=credential, threshold=30).update(status=SENT)

    with transaction.atomic():
        credential.state = CredentialState.SUPERSEDED
        credential.save(update_fields=["state"])
        credential_retired.send(sender=type(credential), credential=credential, now=NOW)

    assert rows(credential) == {30: SENT, 14: S, 7: ReminderStatus.CANCELLED}
    assert rows(other)[7] == P
    later = reminders_scan(now=NOW + timedelta(days=4), enqueue=False)
    assert rows(credential)[7] == ReminderStatus.CANCELLED
    assert 3 not in rows(credential)
    assert [q.threshold for q in later.queued] == [3]  # only the other credential's


def test_rotation_and_revocation_cancel_pending_reminders(
    due_credential: DueFactory, email_channel: Any, admin_user: Any
) -> None:
    rotated, _ = due_credential(days=7)
    revoked, _ = due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)

    secret = rotation_secret_clean(
        credential=rotated, scim_url=None, token=new_token(), expires_at=None, now=NOW
    )
    rotation = credential_rotate(credential=rotated, secret=secret, actor=admin_user, now=NOW)
    credential_revoke(credential=revoked, reason="leaked in a ticket", actor=admin_user, now=NOW)

    assert rows(rotated)[7] == ReminderStatus.CANCELLED
    assert rows(revoked)[7] == ReminderStatus.CANCELLED
    later = reminders_scan(now=NOW + timedelta(days=4), enqueue=False)
    assert later.queued == ()  # the new version expires in a year
    assert rows(rotation.new_credential) == {}


def test_scan_cancels_pending_rows_of_a_credential_retired_without_the_signal(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)
    credential.state = CredentialState.REVOKED
    credential.save(update_fields=["state"])

    result = reminders_scan(now=NOW + timedelta(minutes=15), enqueue=False)

    assert result.cancelled == 1 and result.queued == ()
    assert rows(credential)[7] == ReminderStatus.CANCELLED


def test_scan_records_the_heartbeat(due_credential: DueFactory, email_channel: Any) -> None:
    due_credential(days=7)
    reminders_scan(now=NOW, enqueue=False)

    heartbeat = ScanHeartbeat.objects.get(pk=1)
    assert (heartbeat.last_scan_at, heartbeat.last_queued) == (NOW, 1)


def test_scan_query_count_does_not_grow_with_the_number_of_due_credentials(
    due_credential: DueFactory, no_channels: None, slack: Any
) -> None:
    email_channel_make(name="IT ops", recipients="it-ops@example.com")
    linked = []
    for _ in range(5):
        linked.append(due_credential(days=5)[0].integration)
    slack_channel_make(name="#team", url=slack.webhook_url(), is_default=False,
                         integrations=tuple(linked))  # fmt: skip
    reminders_scan(now=NOW - timedelta(days=30), enqueue=False)  # heartbeat row exists
    with CaptureQueriesContext(connection) as five:
        result_five = reminders_scan(now=NOW, enqueue=False)
    Reminder.objects.all().delete()
    ReminderPlan.objects.all().delete()  # the first ones are owed again
    for _ in range(45):
        due_credential(days=5)

    with CaptureQueriesContext(connection) as fifty:
        result_fifty = reminders_scan(now=NOW, enqueue=False)

    assert (result_five.created, result_fifty.created) == (10, 55)
    assert result_fifty.skipped == 110
    assert len(fifty.captured_queries) == len(five.captured_queries), [
        q["sql"][:120] for q in fifty.captured_queries
    ]


def test_queued_deliveries_reach_the_broker_as_ids_only(
    due_credential: DueFactory,
    slack_channel: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    credential, token = due_credential(days=7)
    with celery_app.connection_for_write() as conn:
        queue = conn.SimpleQueue("celery")
        queue.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = reminders_scan(now=NOW)
        messages = []
        while True:
            try:
                message = queue.get(block=True, timeout=2)
            except queue.Empty:
                break
            messages.append(message)
            message.ack()
        queue.close()

    assert [m.headers["task"] for m in messages] == ["alerts.tasks.deliver_reminder"]
    args, kwargs, _ = messages[0].payload
    assert (args, kwargs) == ([result.queued[0].id], {})
    body = messages[0].body
    raw = (body.decode() if isinstance(body, bytes) else body) + json.dumps(messages[0].headers)
    assert token not in raw and "WEBHOOK" not in raw.upper()
    assert credential.integration.name not in raw


def test_scan_expiring_command_prints_what_it_queued(
    due_credential: DueFactory, email_channel: Any, capsys: Any
) -> None:
    from django.utils import timezone

    due_credential(days=7, now=timezone.now(), name="Atlassian Cloud (acme)")

    call_command("scan_expiring")

    out = capsys.readouterr().out
    assert "1 new reminders, 2 skipped" in out
    assert "1 reminders queued for the worker:" in out
    assert "Atlassian Cloud (acme) — 7 days before expiry → IT ops (email)" in out


def test_scan_expiring_deliver_sends_from_the_command(
    due_credential: DueFactory, email_channel: Any, capsys: Any, mailoutbox: list[Any]
) -> None:
    from django.utils import timezone

    due_credential(days=3, now=timezone.now(), name="Okta (acme)")

    call_command("scan_expiring", "--deliver")

    out = capsys.readouterr().out
    assert "1 reminders delivering here:" in out
    assert "Okta (acme) — 3 days before expiry → IT ops (email): Sent" in out
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["it-ops@example.com"]
    assert Reminder.objects.get(threshold=3).status == SENT


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_insert_each_row_once(
    due_credential: DueFactory, email_channel: Any
) -> None:
    for _ in range(20):
        due_credential(days=5)
    results = run_concurrently(lambda _: reminders_scan(now=NOW, enqueue=False), count=2)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(r.created for r in results) == [0, 20]
    assert sum(r.skipped for r in results) == 40
    assert Reminder.objects.count() == 60
    again = reminders_scan(now=NOW, enqueue=False)
    assert (again.created, again.skipped) == (0, 0)
