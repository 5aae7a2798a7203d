"""Audit events read as one sentence each: for every action, built from stored metadata only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alerts.channels import ChannelInput, channel_create, channel_delete, channel_update
from alerts.delivery import reminder_mark_failed, reminder_mark_sent
from alerts.models import ChannelKind, Reminder, ReminderStatus
from keyvault.audit.chain import audit_append
from keyvault.audit.sentences import (
    SENTENCES,
    EventFacts,
    Outcome,
    event_outcome,
    event_sentence,
    facts_sentence,
)
from keyvault.models import AuditAction, AuditEvent
from keyvault.rotation.services import (
    credential_revoke,
    credential_rotate,
    credentials_destroy_expired_grace,
    rotation_secret_clean,
)
from keyvault.vault.services import credential_reveal, credential_reveal_denied
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token, reminder_make

NAME = "Atlassian — acme"
WEBHOOK = "https://hooks.slack.example/services/T000/B000/s3cr3tWebhookPath"


def _last(action: AuditAction) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).select_related("integration").latest("seq")


def _facts(action: str, **details: Any) -> EventFacts:
    return EventFacts(action=action, actor="alice", integration=NAME, details=details)


@pytest.mark.parametrize("action", list(AuditAction), ids=lambda a: a.value)
def test_every_audit_action_has_its_own_sentence(action: AuditAction) -> None:
    assert action in SENTENCES, f"add a sentence for {action.value} to SENTENCES"
    sentence = facts_sentence(_facts(action))  # even with no details at all
    assert sentence and action.value not in sentence
    assert "None" not in sentence and "{" not in sentence


def test_an_unknown_action_still_reads_as_who_and_what() -> None:
    assert facts_sentence(_facts("future.thing")) == "alice: future.thing"


def test_a_rotation_reads_with_its_lead_time_and_reason(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential(name=NAME)
    when = credential.expires_at - timedelta(days=7)
    secret = rotation_secret_clean(
        credential=credential, scim_url="", token=new_token(), expires_at=None, now=when
    )
    credential_rotate(
        credential=credential,
        secret=secret,
        actor=admin_user,
        now=when,
        reason="yearly rotation",
        idp_updated=True,
    )
    assert event_sentence(_last(AuditAction.CREDENTIAL_ROTATED)) == (
        "alice rotated the Atlassian — acme key 7 days early; reason “yearly rotation”"
    )


def test_a_late_rotation_without_confirmed_idp_update_says_both(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential(name=NAME)
    when = credential.expires_at + timedelta(days=3)
    secret = rotation_secret_clean(
        credential=credential, scim_url="", token=new_token(), expires_at=None, now=when
    )
    credential_rotate(credential=credential, secret=secret, actor=admin_user, now=when)
    assert event_sentence(_last(AuditAction.CREDENTIAL_ROTATED)) == (
        "alice rotated the Atlassian — acme key 3 days late; identity provider update not confirmed"
    )


def test_credential_events_name_the_key_by_its_hint(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential(name=NAME)
    hint = credential.hint
    assert event_sentence(_last(AuditAction.INTEGRATION_CREATED)) == (
        "alice created the integration Atlassian — acme; provider Atlassian (SCIM API key)"
    )
    expires = credential.expires_at
    assert event_sentence(_last(AuditAction.CREDENTIAL_CREATED)) == (
        f"alice added the Atlassian — acme key ····{hint}, expiring {expires.day} {expires:%b %Y}"
    )
    credential_reveal(credential=credential, actor=admin_user, now=NOW)
    assert event_sentence(_last(AuditAction.CREDENTIAL_REVEALED)) == (
        f"alice revealed the Atlassian — acme key ····{hint}"
    )
    credential_reveal_denied(credential=credential, actor=admin_user, now=NOW)
    assert event_sentence(_last(AuditAction.CREDENTIAL_REVEAL_DENIED)) == (
        f"alice was refused the Atlassian — acme key ····{hint} (wrong password)"
    )
    credential_revoke(credential=credential, reason="vendor offboarded", actor=admin_user, now=NOW)
    assert event_sentence(_last(AuditAction.CREDENTIAL_REVOKED)) == (
        f"alice revoked the Atlassian — acme key ····{hint}; reason “vendor offboarded”"
    )
    credentials_destroy_expired_grace(now=NOW + timedelta(days=30))
    assert event_sentence(_last(AuditAction.CREDENTIAL_DESTROYED)) == (
        f"system destroyed the secret of the Atlassian — acme key ····{hint} (revoked)"
        " after its 7-day grace period"
    )


def test_reminder_events_name_the_threshold_the_key_and_the_channel(
    make_credential: MakeCredential,
) -> None:
    from tests.factories import slack_channel_make

    credential, _ = make_credential(name=NAME)
    channel = slack_channel_make(name="#it-ops", url=WEBHOOK)
    sent = reminder_make(credential=credential, channel=channel, threshold=7, attempts=1)
    reminder_mark_sent(reminder=sent, now=NOW)
    assert event_sentence(_last(AuditAction.REMINDER_SENT)) == (
        f"reminders sent the reminder 7 days before expiry for the Atlassian — acme key "
        f"····{credential.hint} to #it-ops"
    )
    failed = reminder_make(
        credential=credential,
        channel=channel,
        threshold=-2,
        attempts=8,
        status=ReminderStatus.SENDING,
    )
    failed = Reminder.objects.select_related("credential__integration", "channel").get(pk=failed.pk)
    reminder_mark_failed(reminder=failed, message="channel_not_found", now=NOW)
    assert event_sentence(_last(AuditAction.REMINDER_FAILED)) == (
        f"reminders could not send the reminder 2 days after expiry for the Atlassian — acme "
        f"key ····{credential.hint} to #it-ops: channel_not_found"
    )


def test_channel_events_name_the_channel_and_what_changed(db: Any, admin_user: Any) -> None:
    channel = channel_create(
        kind=ChannelKind.EMAIL,
        data=ChannelInput(name="Security team", email_recipients="sec@example.com"),
        actor=admin_user,
        now=NOW,
    )
    assert event_sentence(_last(AuditAction.CHANNEL_CREATED)) == (
        "alice created the email channel “Security team”"
    )
    channel_update(
        channel=channel,
        data=ChannelInput(name="Security", email_recipients="soc@example.com", is_default=False),
        actor=admin_user,
        now=NOW,
    )
    assert event_sentence(_last(AuditAction.CHANNEL_CHANGED)) == (
        "alice changed the channel “Security”: name, email recipients"
    )
    channel_delete(channel=channel, actor=admin_user, now=NOW)
    assert event_sentence(_last(AuditAction.CHANNEL_DELETED)) == (
        "alice deleted the email channel “Security”"
    )


@pytest.mark.parametrize(
    ("details", "sentence"),
    [
        (
            {"format": "csv", "filters": {"action": "credential.rotated"}},
            "(CSV, filtered by action)",
        ),
        (
            {"format": "jsonl", "filters": {"date_from": "2026-01-01", "date_to": "2026-02-01"}},
            "(JSONL, filtered by date)",
        ),
        ({"format": "csv", "filters": {}}, "(CSV, unfiltered)"),
    ],
)
def test_an_audit_export_says_its_format_and_what_it_was_filtered_by(
    details: dict[str, Any], sentence: str
) -> None:
    facts = EventFacts(
        action=AuditAction.AUDIT_EXPORTED, actor="carol", integration="", details=details
    )
    assert facts_sentence(facts) == f"carol exported the audit log {sentence}"


def test_sign_in_test_notification_and_key_rotation_sentences() -> None:
    assert facts_sentence(_facts(AuditAction.LOGIN)) == "alice signed in"
    failed = EventFacts(AuditAction.LOGIN_FAILED, "mallory", "", {"username": "mallory"})
    assert facts_sentence(failed) == "a sign-in as “mallory” failed"
    tested = _facts(
        AuditAction.CHANNEL_TESTED, ok=False, channel="#it-ops", kind="slack", error="404"
    )
    assert facts_sentence(tested) == (
        "alice sent a test notification to the Slack channel “#it-ops”: it failed (404)"
    )
    rekeyed = EventFacts(
        AuditAction.ENCRYPTION_KEY_ROTATED,
        "rotate_encryption_key",
        "",
        {"primary_key_id": "2027a", "reencrypted": 12, "failed": 0, "complete": True},
    )
    assert (
        facts_sentence(rekeyed) == "rotate_encryption_key re-encrypted 12 secrets under key “2027a”"
    )
    batch = EventFacts(
        AuditAction.ENCRYPTION_KEY_ROTATED,
        "rotate_encryption_key",
        "",
        {
            "scope": "batch",
            "column": "keyvault.Credential.token_ciphertext",
            "primary_key_id": "2027a",
            "from_key_ids": ["2026a"],
            "reencrypted": 5,
        },
    )
    assert facts_sentence(batch) == (
        "rotate_encryption_key re-encrypted 5 secrets of keyvault.Credential.token_ciphertext"
        " under key “2027a” (from “2026a”)"
    )


def test_a_resend_after_an_unknown_outcome_reads_as_a_possible_duplicate() -> None:
    sent = EventFacts(
        AuditAction.REMINDER_SENT,
        "reminders",
        "Atlassian — acme",
        {"threshold": 7, "channel": "#it-ops", "attempts": 2, "possible_duplicate": True},
    )

    assert facts_sentence(sent).endswith(
        "after 2 attempts; possibly a duplicate (an earlier attempt's outcome is unknown)"
    )


@pytest.mark.parametrize(
    ("action", "details", "outcome"),
    [
        (AuditAction.CREDENTIAL_REVEAL_DENIED, {}, Outcome.REFUSED),
        (AuditAction.LOGIN_FAILED, {}, Outcome.FAILED),
        (AuditAction.REMINDER_FAILED, {}, Outcome.FAILED),
        (AuditAction.CHANNEL_TESTED, {"ok": False}, Outcome.FAILED),
        (AuditAction.CHANNEL_TESTED, {"ok": True}, Outcome.SUCCEEDED),
        (AuditAction.CREDENTIAL_ROTATED, {}, Outcome.SUCCEEDED),
    ],
)
def test_outcome_of_an_event(action: str, details: dict[str, Any], outcome: Outcome) -> None:
    assert event_outcome(action=action, details=details) == outcome


def test_no_sentence_holds_a_secret_and_the_page_shows_each_with_its_raw_details(
    make_credential: MakeCredential, admin_user: Any, auditor_client: Client
) -> None:
    from tests.factories import slack_channel_make

    credential, token = make_credential(name='<b>Atlassian</b> & "co"')
    credential_reveal(credential=credential, actor=admin_user, now=NOW)
    new = new_token()
    secret = rotation_secret_clean(
        credential=credential, scim_url="", token=new, expires_at=None, now=NOW
    )
    credential_rotate(credential=credential, secret=secret, actor=admin_user, now=NOW, reason="x")
    channel = slack_channel_make(name="#it-ops", url=WEBHOOK)
    reminder_mark_sent(reminder=reminder_make(credential=credential, channel=channel), now=NOW)
    audit_append(action=AuditAction.LOGIN, now=NOW, actor=admin_user)

    events = list(AuditEvent.objects.select_related("integration"))
    sentences = [event_sentence(e) for e in events]
    for secret_text in (token, new, ATLASSIAN_URL, WEBHOOK, WEBHOOK.rsplit("/", 1)[1]):
        assert not any(secret_text in s for s in sentences), secret_text

    html = auditor_client.get(reverse("keyvault:audit_log")).content.decode()
    assert "&lt;b&gt;Atlassian&lt;/b&gt; &amp; &quot;co&quot;" in html
    assert "<b>Atlassian</b>" not in html
    rows = re.findall(r'<p class="kv-audit__sentence">(.*?)</p>', html)
    assert len(rows) == AuditEvent.objects.count()
    with_raw = [e for e in events if e.details or e.target_type]
    assert html.count('<details class="kv-audit__raw">') == len(with_raw)
    assert "&quot;reason&quot;: &quot;x&quot;" in html  # the raw details, as JSON
    assert " style=" not in html and "<script>" not in html
    for secret_text in (token, new, ATLASSIAN_URL, WEBHOOK):
        assert secret_text not in html
