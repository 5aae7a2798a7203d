"""The weekly digest: what it lists, when it is owed, exactly once, and delivery through the
local Slack and SMTP stubs. Time is always given explicitly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts import digest_messages
from alerts.delivery import Outcome
from alerts.digest import digest_content, digest_deliver, digests_scan
from alerts.models import Channel, ChannelKind, Digest, ReminderStatus, Weekday
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from keyvault.vault.check_models import CheckStatus
from tests.alerts.outbox_helpers import WEBHOOK_SECRET, DueFactory, due_credential, no_channels
from tests.factories import (
    ATLASSIAN_URL,
    email_channel_make,
    metadata_only_make,
    new_token,
    run_concurrently,
    slack_channel_make,
    teams_channel_make,
    webhook_channel_make,
)
from tests.stubs import SlackStub, SmtpStub

__all__ = ["due_credential", "no_channels"]  # fixtures used by name

#: Monday 2 March 2026, 09:00 UTC: the digests below are due on Mondays at 09:00.
MONDAY_NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONDAY = MONDAY_NINE.date()


def with_digest(channel: Channel, *, weekday: int = Weekday.MONDAY, hour: int = 9) -> Channel:
    Channel.objects.filter(pk=channel.pk).update(digest_weekday=weekday, digest_hour=hour)
    channel.refresh_from_db()
    return channel


def slack_digest_channel(slack: SlackStub, **fields: Any) -> Channel:
    channel = slack_channel_make(
        name="#it-ops", url=slack.webhook_url(f"/services/T0KV/B0KV/{WEBHOOK_SECRET}"), **fields
    )
    return with_digest(channel)


def send_due(now: datetime) -> list[Any]:
    return [
        digest_deliver(digest_id=i, now=now) for i in digests_scan(now=now, enqueue=False).queued
    ]


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


# --- content ----------------------------------------------------------------------------------


def test_digest_lists_what_expires_within_sixty_days_what_expired_and_what_awaits_the_idp(
    due_credential: DueFactory, no_channels: None, slack: SlackStub, admin_user: Any
) -> None:
    channel = slack_digest_channel(slack)
    due_credential(days=59, name="Soon: 59 days", now=MONDAY_NINE)
    due_credential(days=10, name="Soon: 10 days", now=MONDAY_NINE)
    due_credential(days=61, name="Later: 61 days", now=MONDAY_NINE)
    due_credential(days=-3, name="Expired 3 days ago", now=MONDAY_NINE)
    revoked, _ = due_credential(days=5, name="Revoked", now=MONDAY_NINE)
    revoked.state = CredentialState.REVOKED
    revoked.save(update_fields=["state"])
    rejected, _ = due_credential(days=200, name="Rejected by Atlassian", now=MONDAY_NINE)
    Credential.objects.filter(pk=rejected.pk).update(
        check_status=CheckStatus.REJECTED, checked_at=MONDAY_NINE - timedelta(days=1)
    )
    for name, confirmed in (("Rotated, IdP unconfirmed", False), ("Rotated, IdP done", True)):
        old, _ = due_credential(days=20, name=name, now=MONDAY_NINE - timedelta(days=3))
        secret = rotation_secret_clean(
            credential=old, scim_url=None, token=new_token(), expires_at=None, now=MONDAY_NINE
        )
        credential_rotate(
            credential=old,
            secret=secret,
            actor=admin_user,
            now=MONDAY_NINE - timedelta(days=2),
            idp_updated=confirmed,
        )

    with CaptureQueriesContext(connection) as queries:
        content = digest_content(channel=channel, now=MONDAY_NINE)

    assert names(content.expiring) == ["Soon: 10 days", "Soon: 59 days"]
    assert content.expiring[0]["phrase"] == "expires in 10 days"
    assert names(content.expired) == ["Expired 3 days ago"]
    assert content.expired[0]["phrase"] == "expired 3 days ago"
    assert names(content.idp_unconfirmed) == ["Rotated, IdP unconfirmed"]
    assert content.idp_unconfirmed[0]["rotated_by"] == admin_user.username
    assert [(i["name"], i["phrase"]) for i in content.vendor_rejected] == [
        ("Rejected by Atlassian", "rejected at the live check of 1 Mar 2026")
    ]
    assert len(queries.captured_queries) == 3


def test_a_linked_channel_digest_covers_only_its_integrations(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    mine, _ = due_credential(days=10, name="Mine", now=MONDAY_NINE)
    due_credential(days=10, name="Not mine", now=MONDAY_NINE)
    channel = slack_digest_channel(slack, is_default=False, integrations=(mine.integration,))

    assert names(digest_content(channel=channel, now=MONDAY_NINE).expiring) == ["Mine"]


def test_digest_message_has_every_section_in_every_form_and_no_secret(
    due_credential: DueFactory, no_channels: None, slack: SlackStub, settings: Any
) -> None:
    settings.SITE_URL = "https://keyvault.example.com"
    credential, token = due_credential(days=10, name="Atlassian <acme>", now=MONDAY_NINE)
    channel = slack_digest_channel(slack)
    digest = Digest.objects.create(
        channel=channel, week=MONDAY, due_at=MONDAY_NINE, created_at=MONDAY_NINE
    )
    content = digest_content(channel=channel, now=MONDAY_NINE)

    note = digest_messages.digest_notification(digest=digest, content=content, now=MONDAY_NINE)

    assert note.subject == (
        "[keyvault] Weekly digest for #it-ops: 1 expiring, 0 expired (week of 2 Mar 2026)"
    )
    for section in (
        "Expiring in the next 60 days (1)",
        "Expired (0)",
        "IdP not updated (0)",
        "Rejected by the vendor (0)",
    ):
        assert section in note.text and section in note.html
    slack_text = json.dumps(note.slack_blocks, ensure_ascii=False)
    assert "*Rejected by the vendor (0)*" in slack_text
    assert "*IdP not updated (0)*" in slack_text  # the pages' word for the state
    assert "identity provider confirmation" not in note.text + note.html + slack_text
    assert "Atlassian &lt;acme&gt;" in slack_text  # mrkdwn-escaped
    assert "Atlassian &lt;acme&gt;" in note.html  # HTML-escaped
    assert "Atlassian <acme> (····" in note.text
    rotate = f"https://keyvault.example.com/integrations/{credential.integration_id}/rotate/"
    assert rotate in note.text
    assert note.idempotency_key == digest.idempotency_key
    assert digest.idempotency_key.startswith("kvd_")
    everything = "\n".join([note.subject, note.text, note.html, note.slack_text, slack_text])
    for secret in (token, WEBHOOK_SECRET, ATLASSIAN_URL, credential.fingerprint):
        assert secret not in everything


def test_a_long_slack_digest_lists_the_first_items_and_counts_the_rest(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    for i in range(digest_messages.SLACK_DIGEST_ITEMS + 3):
        due_credential(days=10 + i, name=f"Integration {i:02d}", now=MONDAY_NINE)
    channel = slack_digest_channel(slack)
    digest = Digest.objects.create(
        channel=channel, week=MONDAY, due_at=MONDAY_NINE, created_at=MONDAY_NINE
    )
    note = digest_messages.digest_notification(
        digest=digest, content=digest_content(channel=channel, now=MONDAY_NINE), now=MONDAY_NINE
    )

    expiring = next(
        b for b in note.slack_blocks if "*Expiring" in b.get("text", {}).get("text", "")
    )
    assert expiring["text"]["text"].count("\n• ") == digest_messages.SLACK_DIGEST_ITEMS
    assert expiring["text"]["text"].endswith("…and 3 more")
    assert note.text.count("Integration ") == digest_messages.SLACK_DIGEST_ITEMS + 3


# --- schedule ---------------------------------------------------------------------------------


def test_the_digest_is_recorded_once_when_its_hour_comes(
    no_channels: None, slack: SlackStub
) -> None:
    slack_digest_channel(slack)

    assert digests_scan(now=MONDAY_NINE - timedelta(minutes=1), enqueue=False).owed == 0
    first = digests_scan(now=MONDAY_NINE, enqueue=False)
    later = digests_scan(now=MONDAY_NINE + timedelta(hours=1), enqueue=False)

    assert (first.owed, later.owed) == (1, 0)
    digest = Digest.objects.get()
    assert (digest.week, digest.due_at, digest.status) == (
        MONDAY,
        MONDAY_NINE,
        ReminderStatus.PENDING,
    )
    assert list(first.queued) == [digest.pk]


def test_digest_scan_query_count_does_not_grow_with_channels(
    no_channels: None, slack: SlackStub
) -> None:
    with_digest(email_channel_make(name="one", recipients="a@example.com"))
    with CaptureQueriesContext(connection) as one:
        digests_scan(now=MONDAY_NINE, enqueue=False)
    for i in range(10):
        with_digest(email_channel_make(name=f"more {i}", recipients="a@example.com"))

    with CaptureQueriesContext(connection) as eleven:
        result = digests_scan(now=MONDAY_NINE, enqueue=False)

    assert result.owed == 10
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_a_channel_without_a_digest_day_gets_none(no_channels: None, slack: SlackStub) -> None:
    slack_channel_make(name="#quiet", url=slack.webhook_url())

    assert digests_scan(now=MONDAY_NINE, enqueue=False).owed == 0
    assert not Digest.objects.exists()


def test_in_a_dst_week_the_digest_goes_out_at_nine_local_time(
    no_channels: None, slack: SlackStub, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"  # summer time from Sunday 29 March 2026
    slack_digest_channel(slack)
    assert len(send_due(datetime(2026, 3, 23, 8, 0, tzinfo=UTC))) == 1  # 09:00 CET

    assert send_due(datetime(2026, 3, 30, 6, 59, tzinfo=UTC)) == []
    sent = send_due(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))  # 09:00 CEST

    assert [r.outcome for r in sent] == [Outcome.SENT]
    assert list(Digest.objects.order_by("week").values_list("week", flat=True)) == [
        date(2026, 3, 23),
        date(2026, 3, 30),
    ]
    assert len(slack.requests) == 2


def test_a_scheduler_that_was_down_sends_the_missed_digest_once_when_it_is_back(
    no_channels: None, slack: SlackStub
) -> None:
    slack_digest_channel(slack)

    back_up = MONDAY_NINE + timedelta(hours=7)
    assert [r.outcome for r in send_due(back_up)] == [Outcome.SENT]
    assert send_due(back_up + timedelta(minutes=15)) == []
    assert len(slack.requests) == 1


# --- exactly once, delivery -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_digest_runs_send_one_digest(slack: SlackStub) -> None:
    Channel.objects.all().delete()
    slack_digest_channel(slack)

    results = run_concurrently(lambda _: send_due(MONDAY_NINE), count=2)

    assert [r for r in results if isinstance(r, BaseException)] == []
    outcomes = sorted(str(r.outcome) for result in results for r in result)  # type: ignore[union-attr]
    assert outcomes.count(str(Outcome.SENT)) == 1
    assert len(slack.requests) == 1
    assert Digest.objects.get().status == ReminderStatus.SENT
    assert AuditEvent.objects.filter(action=AuditAction.DIGEST_SENT).count() == 1


def test_slack_digest_is_delivered_recorded_and_audited(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    due_credential(days=10, name="Okta (acme)", now=MONDAY_NINE)
    due_credential(days=-1, name="GitHub (acme)", now=MONDAY_NINE)
    slack_digest_channel(slack)

    assert [r.outcome for r in send_due(MONDAY_NINE)] == [Outcome.SENT]

    body = json.loads(slack.requests[0].text)
    assert "Okta (acme)" in json.dumps(body) and "GitHub (acme)" in json.dumps(body)
    assert WEBHOOK_SECRET not in slack.requests[0].text
    digest = Digest.objects.get()
    assert (digest.status, digest.sent_at, digest.attempts) == (ReminderStatus.SENT, MONDAY_NINE, 1)
    event = AuditEvent.objects.get(action=AuditAction.DIGEST_SENT)
    assert event.details["expiring"] == 1 and event.details["expired"] == 1
    assert event_sentence(event) == (
        "reminders sent the weekly digest for the week of 2 Mar 2026 to #it-ops "
        "(1 expiring, 1 expired, 0 awaiting IdP confirmation, 0 rejected by the vendor)"
    )


def test_email_digest_reaches_the_smtp_server_with_a_stable_message_id(
    due_credential: DueFactory, no_channels: None, smtp: SmtpStub
) -> None:
    due_credential(days=10, name="Okta (acme)", now=MONDAY_NINE)
    with_digest(email_channel_make(name="IT ops (email)", recipients="it-ops@example.com"))

    assert [r.outcome for r in send_due(MONDAY_NINE)] == [Outcome.SENT]

    [mail] = smtp.messages
    assert mail.rcpt_tos == ["it-ops@example.com"]
    assert "Okta (acme)" in mail.part("text/plain") and "Okta (acme)" in mail.part("text/html")
    assert Digest.objects.get().idempotency_key in mail.message["Message-ID"]


def test_a_transient_failure_is_retried_with_backoff_and_a_permanent_one_fails_audited(
    no_channels: None, slack: SlackStub
) -> None:
    slack_digest_channel(slack)
    slack.script(500, (404, {}, "no_service"))

    [first] = send_due(MONDAY_NINE)
    assert first.outcome == Outcome.RETRY and first.retry_in is not None
    digest = Digest.objects.get()
    assert digest.status == ReminderStatus.PENDING
    assert digest.next_attempt_at == MONDAY_NINE + timedelta(seconds=first.retry_in)
    assert send_due(MONDAY_NINE + timedelta(seconds=1)) == []  # still backing off

    [second] = send_due(MONDAY_NINE + timedelta(seconds=first.retry_in))
    assert second.outcome == Outcome.FAILED
    assert Digest.objects.get().status == ReminderStatus.FAILED
    event = AuditEvent.objects.get(action=AuditAction.DIGEST_FAILED)
    assert "no_service" in event.details["error"]
    assert WEBHOOK_SECRET not in json.dumps(event.details)


def test_a_digest_switched_off_before_it_is_sent_is_cancelled(
    no_channels: None, slack: SlackStub
) -> None:
    channel = slack_digest_channel(slack)
    [digest_id] = digests_scan(now=MONDAY_NINE, enqueue=False).queued
    Channel.objects.filter(pk=channel.pk).update(digest_weekday=None)

    assert digest_deliver(digest_id=digest_id, now=MONDAY_NINE).outcome == Outcome.CANCELLED
    assert Digest.objects.get().status == ReminderStatus.CANCELLED
    assert slack.requests == []


def test_the_digest_scan_runs_from_beat() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["alerts-digests-scan"]
    assert entry["task"] == "alerts.tasks.scan_digests"


# --- channel settings -------------------------------------------------------------------------


def test_admin_sets_escalation_and_a_weekly_digest_on_a_channel_audited(
    admin_client: Client,
) -> None:
    url = reverse("alerts:channel_create", kwargs={"kind": ChannelKind.EMAIL})
    assert 'name="escalate_from_days" value="7"' in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "name": "Admins",
            "email_recipients": "admins@example.com",
            "is_default": "on",
            "escalate_from_days": "1",
            "digest_weekday": str(Weekday.FRIDAY),
            "digest_hour": "16",
        },
    )

    assert response.status_code == 302
    channel = Channel.objects.get(name="Admins")
    assert (channel.escalate_from_days, channel.digest_weekday, channel.digest_hour) == (1, 4, 16)
    event = AuditEvent.objects.filter(action=AuditAction.CHANNEL_CREATED).order_by("-seq")[0]
    assert (event.details["escalate_from_days"], event.details["digest_weekday"]) == (1, 4)
    page = admin_client.get(response["Location"]).content.decode()
    assert "From 1 day before expiry, then daily while expired" in page
    assert "Fridays at 16:00" in page


def test_a_digest_on_an_email_channel_without_addresses_of_its_own_is_refused(
    admin_client: Client,
) -> None:
    url = reverse("alerts:channel_create", kwargs={"kind": ChannelKind.EMAIL})
    response = admin_client.post(
        url, {"name": "Owners", "email_to_owner": "on", "digest_weekday": str(Weekday.MONDAY)}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"digest_weekday"}
    assert not Channel.objects.filter(name="Owners").exists()


def test_teams_digest_is_an_adaptive_card_listing_each_section(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    due_credential(days=10, name="Okta [acme]", now=MONDAY_NINE)
    due_credential(days=-1, name="GitHub (acme)", now=MONDAY_NINE)
    with_digest(teams_channel_make(name="IT ops (Teams)", url=slack.webhook_url("/workflows/x")))

    assert [r.outcome for r in send_due(MONDAY_NINE)] == [Outcome.SENT]

    card = slack.requests[0].json["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"]]
    assert "Expiring in the next 60 days (1)" in texts and "Expired (1)" in texts
    assert any(t.startswith("- Okta \\[acme\\] (····") for t in texts)  # Markdown neutralised
    assert any(t.startswith("- GitHub (acme) (····") for t in texts)
    assert Digest.objects.get().idempotency_key in texts[-1]


def test_webhook_digest_is_signed_and_lists_every_item_without_secrets(
    due_credential: DueFactory, no_channels: None, slack: SlackStub
) -> None:
    from standardwebhooks import Webhook

    _, token = due_credential(days=10, name="Okta (acme)", now=MONDAY_NINE)
    channel, secret = webhook_channel_make(url=slack.webhook_url("/hooks/keyvault"))
    with_digest(channel)

    assert [r.outcome for r in send_due(MONDAY_NINE)] == [Outcome.SENT]

    request = slack.requests[0]
    event = Webhook(secret).verify(request.body, request.headers)
    assert (event["type"], event["version"], event["week"]) == ("keyvault.digest", 1, "2026-03-02")
    webhook_id = {k.lower(): v for k, v in request.headers.items()}["webhook-id"]
    assert webhook_id == Digest.objects.get().idempotency_key
    assert [item["name"] for item in event["expiring"]] == ["Okta (acme)"]
    assert event["counts"] == {
        "expiring": 1,
        "expired": 0,
        "idp_unconfirmed": 0,
        "vendor_rejected": 0,
    }
    assert token not in request.text and ATLASSIAN_URL not in request.text


def test_a_metadata_only_key_is_listed_without_a_hint(
    admin_user: Any, no_channels: None, slack: SlackStub
) -> None:
    metadata_only_make(actor=admin_user, name="Imported key", expires_on="2026-03-12")
    channel = slack_digest_channel(slack)
    digest = Digest.objects.create(
        channel=channel, week=MONDAY, due_at=MONDAY_NINE, created_at=MONDAY_NINE
    )
    content = digest_content(channel=channel, now=MONDAY_NINE)

    note = digest_messages.digest_notification(digest=digest, content=content, now=MONDAY_NINE)

    assert "- Imported key: expires in" in note.text
    assert "····" not in note.text + note.html + json.dumps(note.slack_blocks)
