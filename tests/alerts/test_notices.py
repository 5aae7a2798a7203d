"""Notices (a key rejected by its vendor, an identity provider not updated, an expiry not
confirmed): raised once per occurrence and channel, delivered with the reminders' guarantees.

Slack is a real HTTP server on 127.0.0.1 (tests/stubs.py); email goes through Django's locmem
backend.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from alerts.delivery import Outcome
from alerts.models import Notice, NoticeKind, ReminderStatus
from alerts.notices import notice_deliver, notices_cancel, notices_raise
from alerts.scan import reminders_scan
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent
from keyvault.rotation.services import credential_revoke
from tests.alerts.outbox_helpers import WEBHOOK_SECRET, email_channel, no_channels, slack_channel
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, email_channel_make
from tests.stubs import SlackStub

__all__ = ["email_channel", "no_channels", "slack_channel"]


def test_a_notice_is_owed_once_per_channel_however_often_it_is_raised(
    make_credential: MakeCredential, slack_channel: Any, email_channel: Any
) -> None:
    credential, _ = make_credential()

    first = notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
    again = notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
    other = notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c2", now=NOW)

    assert (first, again, other) == (2, 0, 2)
    assert Notice.objects.filter(status=ReminderStatus.PENDING).count() == 4


def test_a_notice_raised_in_a_rolled_back_change_is_not_owed(
    make_credential: MakeCredential, slack_channel: Any
) -> None:
    credential, _ = make_credential()

    with pytest.raises(RuntimeError), transaction.atomic():
        notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
        raise RuntimeError("the change failed")

    assert not Notice.objects.exists()


def test_a_rejected_key_reaches_every_channel_but_an_unconfirmed_date_only_the_first_audience(
    make_credential: MakeCredential, no_channels: None
) -> None:
    credential, _ = make_credential(owner_email="dana@example.com")
    owners = email_channel_make(name="owners", to_owner=True)
    admins = email_channel_make(name="admins", recipients="admins@example.com")
    admins.escalate_from_days = 1
    admins.save()

    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
    notices_raise(credential=credential, kind=NoticeKind.EXPIRY_UNCONFIRMED, key="w1", now=NOW)

    def reached(kind: NoticeKind) -> set[str]:
        return set(Notice.objects.filter(kind=kind).values_list("channel__name", flat=True))

    assert reached(NoticeKind.CHECK_REJECTED) == {owners.name, admins.name}
    assert reached(NoticeKind.EXPIRY_UNCONFIRMED) == {owners.name}


def test_a_rejected_key_notice_is_delivered_once_audited_and_holds_no_secret(
    make_credential: MakeCredential, slack_channel: Any, slack: SlackStub
) -> None:
    credential, token = make_credential(name="Atlassian Cloud (acme)")
    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
    notice = Notice.objects.get()

    result = notice_deliver(notice_id=notice.pk, now=NOW)
    again = notice_deliver(notice_id=notice.pk, now=NOW)

    assert (result.outcome, again.outcome) == (Outcome.SENT, Outcome.NOT_CLAIMED)
    assert len(slack.requests) == 1
    body = slack.requests[0].text
    assert "Atlassian Cloud (acme): the vendor rejected the key" in body
    assert notice.idempotency_key in body
    for secret in (token, WEBHOOK_SECRET, ATLASSIAN_URL, credential.fingerprint):
        assert secret not in body
    notice.refresh_from_db()
    assert (notice.status, notice.sent_at, notice.attempts) == (ReminderStatus.SENT, NOW, 1)
    event = AuditEvent.objects.get(action=AuditAction.NOTICE_SENT)
    assert event.details["idempotency_key"] == notice.idempotency_key
    assert event_sentence(event) == (
        "reminders sent the notice “rejected by the vendor” about the Atlassian Cloud (acme)"
        f" key ····{credential.hint} to #it-ops"
    )


def test_an_expiry_unconfirmed_notice_by_email_names_the_worst_case_date(
    make_credential: MakeCredential, email_channel: Any
) -> None:
    credential, _ = make_credential(name="Atlassian — legacy", expires_at=NOW + timedelta(days=90))
    notices_raise(credential=credential, kind=NoticeKind.EXPIRY_UNCONFIRMED, key="w1", now=NOW)

    notice_deliver(notice_id=Notice.objects.get().pk, now=NOW)

    (message,) = mail.outbox
    assert message.subject == "[keyvault] Atlassian — legacy: expiry date not confirmed"
    assert "keyvault assumes the worst case" in message.body
    assert "Confirm the expiry date" in message.body


def test_a_transient_failure_backs_off_and_a_permanent_one_is_failed_and_audited(
    make_credential: MakeCredential, slack_channel: Any, slack: SlackStub
) -> None:
    credential, _ = make_credential()
    notices_raise(credential=credential, kind=NoticeKind.IDP_NOT_UPDATED, key="d1", now=NOW)
    notice = Notice.objects.get()
    slack.script((429, {"Retry-After": "30"}), 404)

    retry = notice_deliver(notice_id=notice.pk, now=NOW)
    too_soon = notice_deliver(notice_id=notice.pk, now=NOW + timedelta(seconds=10))
    failed = notice_deliver(notice_id=notice.pk, now=NOW + timedelta(seconds=retry.retry_in + 1))

    assert retry.outcome == Outcome.RETRY and retry.retry_in is not None
    assert retry.retry_in >= 30
    assert too_soon.outcome == Outcome.NOT_CLAIMED
    assert failed.outcome == Outcome.FAILED
    assert Notice.objects.get().status == ReminderStatus.FAILED
    assert AuditEvent.objects.filter(action=AuditAction.NOTICE_FAILED).count() == 1


def test_retiring_the_credential_cancels_its_pending_notices(
    make_credential: MakeCredential, slack_channel: Any, admin_user: Any, slack: SlackStub
) -> None:
    credential, _ = make_credential()
    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)

    credential_revoke(credential=credential, reason="key leaked", actor=admin_user, now=NOW)

    assert Notice.objects.get().status == ReminderStatus.CANCELLED
    assert notice_deliver(notice_id=Notice.objects.get().pk, now=NOW).outcome == (
        Outcome.NOT_CLAIMED
    )
    assert slack.requests == []


def test_cancelling_one_kind_leaves_the_others_owed(
    make_credential: MakeCredential, slack_channel: Any
) -> None:
    credential, _ = make_credential()
    notices_raise(credential=credential, kind=NoticeKind.IDP_NOT_UPDATED, key="d1", now=NOW)
    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)

    assert notices_cancel(credential=credential, kind=NoticeKind.IDP_NOT_UPDATED) == 1

    assert dict(Notice.objects.values_list("kind", "status")) == {
        NoticeKind.IDP_NOT_UPDATED: ReminderStatus.CANCELLED,
        NoticeKind.CHECK_REJECTED: ReminderStatus.PENDING,
    }


def test_the_scan_hands_over_pending_notices_once_and_reopens_a_dead_workers_claim(
    make_credential: MakeCredential, slack_channel: Any, settings: Any
) -> None:
    credential, _ = make_credential()
    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)

    first = reminders_scan(now=NOW, enqueue=False)
    assert first.notices_queued == 1
    Notice.objects.update(enqueued_at=NOW)
    assert reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False).notices_queued == 0

    Notice.objects.update(status=ReminderStatus.SENDING, claimed_at=NOW, attempts=1)
    later = NOW + timedelta(seconds=settings.KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    swept = reminders_scan(now=later, enqueue=False)

    notice = Notice.objects.get()
    assert (notice.status, notice.possible_duplicate) == (ReminderStatus.PENDING, True)
    assert (swept.reopened, swept.notices_queued) == (1, 1)


def test_the_webhook_event_of_a_notice_is_versioned_and_secret_free(
    make_credential: MakeCredential, slack_channel: Any
) -> None:
    from alerts.notice_messages import notice_event

    credential, token = make_credential()
    notices_raise(credential=credential, kind=NoticeKind.CHECK_REJECTED, key="c1", now=NOW)
    notice = Notice.objects.select_related("credential__integration").get()

    event = notice_event(notice=notice, now=NOW)

    assert (event["type"], event["version"], event["notice"]) == (
        "keyvault.notice",
        1,
        "check_rejected",
    )
    assert event["idempotency_key"] == notice.idempotency_key
    text = json.dumps(event)
    for secret in (token, ATLASSIAN_URL, credential.fingerprint):
        assert secret not in text
