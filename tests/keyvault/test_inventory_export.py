"""Inventory export: every integration's metadata as CSV or XLSX, never a secret, audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from keyvault.inventory.export import HEADER
from keyvault.inventory.importer import import_plan, integrations_import
from keyvault.inventory.spreadsheet import table_read
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_revoke
from keyvault.vault.lifecycle import integration_archive
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, metadata_only_make

URL = "/integrations/export/"


def _world(make_credential: MakeCredential, admin_user: Any) -> tuple[Any, str]:
    credential, token = make_credential(name="Atlassian — acme", owner="=cmd|' /C calc'!A0")
    metadata_only_make(actor=admin_user, name="Imported", expires_on="2026-03-20")
    gone, _ = make_credential(name="Gone")
    credential_revoke(credential=gone, reason="retired", actor=admin_user, now=NOW)
    return credential, token


def test_the_csv_export_lists_every_integration_without_secrets(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    credential, token = _world(make_credential, admin_user)

    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(URL, {"format": "csv"})
    body = b"".join(response.streaming_content).decode()

    assert response["Content-Disposition"].startswith('attachment; filename="keyvault-inventory-')
    rows = list(csv.reader(io.StringIO(body)))
    assert tuple(rows[0]) == HEADER
    by_name = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert list(by_name) == ["Atlassian — acme", "Gone", "Imported"]
    acme = by_name["Atlassian — acme"]
    assert acme["owner"] == "'=cmd|' /C calc'!A0"  # a formula never runs in a spreadsheet
    assert (acme["status"], acme["secret stored here"], acme["token hint"]) == (
        "ok",
        "yes",
        token[-4:],
    )
    assert by_name["Imported"]["secret stored here"] == "no"
    assert by_name["Imported"]["status"] == "due_soon"
    assert by_name["Gone"]["status"] == "no current credential"
    assert token not in body and ATLASSIAN_URL not in body
    assert str(credential.fingerprint)[:16] not in body
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert event.details == {"export": "inventory", "format": "csv", "rows": 3}


def test_the_xlsx_export_keeps_text_as_text(
    auditor_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    _, token = _world(make_credential, admin_user)

    response = auditor_client.post(URL, {"format": "xlsx"})

    book = load_workbook(io.BytesIO(response.content), read_only=False)
    sheet = book.active
    assert sheet is not None
    cells = list(sheet.iter_rows())
    assert tuple(c.value for c in cells[0]) == HEADER
    assert all(cell.data_type != "f" for row in cells for cell in row)
    assert cells[1][3].value == "'=cmd|' /C calc'!A0"
    assert token not in str([[c.value for c in row] for row in cells])
    assert AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED).details["rows"] == 3


def test_an_export_reads_back_as_an_import_of_the_same_integrations(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    _world(make_credential, admin_user)
    body = b"".join(admin_client.post(URL, {"format": "csv"}).streaming_content)

    plan = import_plan(table=table_read(body), now=NOW)

    assert [row.errors for row in plan.rows] == [
        {"name": ["An integration with this name already exists."]}
    ] * 3
    assert set(plan.ignored) == {"status", "secret stored here", "token hint", "integration id"}


def test_an_unknown_export_format_is_a_bad_request(admin_client: Client) -> None:
    assert admin_client.post(URL, {"format": "pdf"}).status_code == 400
    assert reverse("keyvault:inventory_export") == URL


def test_an_archived_integration_is_exported_as_archived(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    retired, _ = make_credential(name="Retired")
    integration_archive(integration=retired.integration, actor=admin_user, now=NOW)
    make_credential(name="Active")

    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(URL, {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    by_name = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert (by_name["Retired"]["status"], by_name["Retired"]["expires"]) == (
        "archived",
        "2027-03-01",
    )
    assert by_name["Active"]["status"] == "ok"


def test_an_unconfirmed_expiry_is_exported_as_unknown_and_imports_again_unconfirmed(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    legacy, _ = make_credential(name="Legacy", expiry_unknown=True)
    make_credential(name="Known", expires_at=datetime(2026, 9, 1, tzinfo=UTC))

    with time_machine.travel(NOW, tick=False):
        body = b"".join(admin_client.post(URL, {"format": "csv"}).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    by_name = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert by_name["Legacy"]["expires"] == "unknown" and by_name["Legacy"]["status"] == "ok"
    assert by_name["Known"]["expires"] == "2026-09-01"

    out = io.StringIO()
    csv.writer(out).writerows([rows[0], *[[f"Copy of {r[0]}", *r[1:]] for r in rows[1:]]])
    integrations_import(table=table_read(out.getvalue().encode()), actor=admin_user, now=NOW)

    copy = Credential.objects.get(integration__name="Copy of Legacy")
    assert (copy.expiry_confirmed, copy.expires_at) == (False, legacy.expires_at)
    known = Credential.objects.get(integration__name="Copy of Known")
    assert known.expiry_confirmed and known.expires_at == datetime(2026, 9, 1, tzinfo=UTC)
