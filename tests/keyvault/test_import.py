"""Spreadsheet import: the dry run judges every row, the import takes all rows or none."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.test import Client

from keyvault.inventory.importer import ImportRefused, import_plan, integrations_import
from keyvault.inventory.spreadsheet import SheetError, table_read
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Integration
from keyvault.vault.services import credential_reveal
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token
from tests.keyvault.inventory_helpers import csv_bytes, upload, xlsx_bytes

URL = "/integrations/import/"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _counts() -> Counter[str]:
    return Counter({m._meta.label_lower: m._base_manager.count() for m in apps.get_models()})


def _dry_run(client: Client, data: bytes, name: str = "inventory.csv") -> Any:
    return client.post(URL, {"intent": "dry_run", "file": upload(data, name)})


def _import(client: Client, data: bytes, name: str = "inventory.csv") -> Any:
    digest = re.search(rb'name="checked" value="([0-9a-f]{64})"', _dry_run(client, data).content)
    checked = digest.group(1).decode() if digest else ""
    return client.post(URL, {"intent": "import", "checked": checked, "file": upload(data, name)})


def _good_rows() -> tuple[list[list[str]], list[str]]:
    tokens = [new_token(), new_token()]
    rows = [
        [
            "Atlassian Cloud — acme",
            "atlassian",
            "okta",
            "Dana Ops",
            "dana@example.com",
            "2026-01-10",
            "2027-01-10",
            "Provisioning for acme",
            ATLASSIAN_URL,
            tokens[0],
        ],
        ["Stripe", "Generic API key", "", "Billing", "", "", "2026-05-01", "", "", tokens[1]],
        ["Old GitHub SCIM", "github", "Entra ID", "", "", "", "2026-04-01", "", "", ""],
    ]
    return rows, tokens


def test_the_dry_run_of_a_good_file_shows_each_row_and_writes_nothing(
    admin_client: Client,
) -> None:
    rows, tokens = _good_rows()
    before = _counts()

    response = _dry_run(admin_client, csv_bytes(rows))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Every row can be imported: 2 with its secret, 1 metadata only." in body
    assert "Import 3 rows" in body
    assert "Atlassian Cloud — acme" in body and "metadata only" in body
    assert not any(token in body for token in tokens) and ATLASSIAN_URL not in body
    assert _counts() == before


def test_a_good_file_imports_every_row_in_one_audited_event(
    admin_client: Client, admin_user: Any
) -> None:
    rows, tokens = _good_rows()

    response = _import(admin_client, csv_bytes(rows))

    assert response.status_code == 302
    acme = Credential.objects.get(integration__name="Atlassian Cloud — acme")
    assert acme.state == CredentialState.CURRENT and acme.secret_stored
    assert acme.expires_at == datetime(2027, 1, 10, tzinfo=UTC)
    assert acme.issued_at == datetime(2026, 1, 10, tzinfo=UTC)
    assert acme.integration.owner_email == "dana@example.com"
    revealed = credential_reveal(credential=acme, actor=admin_user, now=NOW)
    assert (revealed.token, revealed.scim_url) == (tokens[0], ATLASSIAN_URL)
    stripe = Credential.objects.get(integration__name="Stripe")
    assert stripe.integration.provider == "generic_api_key" and stripe.hint == tokens[1][-4:]
    github = Credential.objects.get(integration__name="Old GitHub SCIM")
    assert not github.secret_stored and github.fingerprint is None and github.hint == ""
    assert github.token_ciphertext == b"" and github.integration.identity_provider == "entra_id"
    assert github.expires_at == datetime(2026, 4, 1, tzinfo=UTC)
    events = AuditEvent.objects.filter(action=AuditAction.INTEGRATIONS_IMPORTED)
    assert [e.details for e in events] == [
        {"format": "csv", "rows": 3, "with_secret": 2, "metadata_only": 1}
    ]
    per_row = [AuditAction.INTEGRATION_CREATED, AuditAction.CREDENTIAL_CREATED]
    assert not AuditEvent.objects.filter(action__in=per_row).exists()
    assert not any(t in str(e.details) for e in AuditEvent.objects.all() for t in tokens)


def test_an_xlsx_file_with_date_cells_imports_like_a_csv(admin_client: Client) -> None:
    token = new_token()
    data = xlsx_bytes(
        [["Okta API", "okta", "okta", "", "", date(2026, 2, 1), date(2026, 8, 1), "", "", token]]
    )

    response = _import(admin_client, data, name="keys.xlsx")

    assert response.status_code == 302
    credential = Credential.objects.get(integration__name="Okta API")
    assert credential.expires_at == datetime(2026, 8, 1, tzinfo=UTC)
    event = AuditEvent.objects.get(action=AuditAction.INTEGRATIONS_IMPORTED)
    assert event.details["format"] == "xlsx"


WORST_CASE = datetime(2027, 5, 1, tzinfo=UTC)  # Atlassian's, for a key of unknown expiry


def _unknown_rows() -> tuple[list[list[str]], str]:
    token = new_token()
    rows = [
        ["Legacy acme", "atlassian", "", "", "", "", "Unknown", "", ATLASSIAN_URL, token],
        ["Legacy beta", "atlassian", "", "", "", "2024-06-01", " UNKNOWN ", "", "", ""],
    ]
    return rows, token


def test_an_expiry_of_unknown_imports_the_worst_case_unconfirmed_as_the_paste_form_does(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    rows, _ = _unknown_rows()
    pasted, _ = make_credential(name="Pasted legacy", expiry_unknown=True)

    response = _import(admin_client, csv_bytes(rows))

    assert response.status_code == 302
    acme = Credential.objects.get(integration__name="Legacy acme")
    beta = Credential.objects.get(integration__name="Legacy beta")
    assert acme.secret_stored and not beta.secret_stored
    for credential in (acme, beta):
        assert not credential.expiry_confirmed
        assert credential.expires_at == pasted.expires_at == WORST_CASE
    assert acme.issued_at == NOW and beta.issued_at == datetime(2024, 6, 1, tzinfo=UTC)
    dashboard = admin_client.get("/").content.decode()
    assert dashboard.count("Worst case, unconfirmed</span>") == 3  # the pasted one too


def test_the_dry_run_says_which_expiries_are_unknown_and_the_date_assumed(
    admin_client: Client,
) -> None:
    rows, _ = _unknown_rows()
    good, _ = _good_rows()

    dry = _dry_run(admin_client, csv_bytes(good + rows)).content.decode()

    assert dry.count("expiry unknown — assumed 2027-05-01") == 2
    assert "2027-01-10" in dry and "expiry unknown — assumed 2027-01-10" not in dry
    assert Integration.objects.count() == 0


def test_an_unknown_expiry_the_provider_has_no_worst_case_for_refuses_the_whole_file(
    admin_client: Client,
) -> None:
    rows, _ = _unknown_rows()
    bad = [
        ["Okta legacy", "okta", "", "", "", "", "unknown", "", "", new_token()],
        ["Vague", "atlassian", "", "", "", "", "unknown soon", "", "", ""],
    ]
    data = csv_bytes(rows + bad)
    before = _counts()

    dry = _dry_run(admin_client, data).content.decode()
    refused = admin_client.post(
        URL, {"intent": "import", "checked": table_read(data).digest, "file": upload(data)}
    )

    assert "2 rows cannot be imported" in dry
    assert "<strong>expires</strong>: Okta keys have no known latest expiry" in dry
    assert "<strong>expires</strong>: Enter a valid date." in dry
    assert "Nothing was imported" in refused.content.decode()
    assert _counts() == before


def test_an_xlsx_expiry_of_unknown_imports_like_a_csv(admin_client: Client) -> None:
    rows, _ = _unknown_rows()

    response = _import(admin_client, xlsx_bytes(rows), name="keys.xlsx")

    assert response.status_code == 302
    imported = Credential.objects.filter(integration__name__startswith="Legacy")
    assert [(c.expiry_confirmed, c.expires_at) for c in imported] == [(False, WORST_CASE)] * 2


def test_a_file_with_bad_rows_lists_them_and_the_import_is_refused_with_nothing_written(
    admin_client: Client,
) -> None:
    good, _ = _good_rows()
    bad = [
        ["Bad provider", "vaultcorp", "", "", "", "", "", "", "", ""],
        ["Bad email", "okta", "", "", "not-an-email", "", "", "", "", new_token()],
        ["Backwards", "okta", "", "", "", "2026-02-01", "2026-01-01", "", "", ""],
        ["URL alone", "atlassian", "", "", "", "", "", "", ATLASSIAN_URL, ""],
        ["Future", "okta", "", "", "", "2027-01-01", "", "", "", ""],
        ["", "okta", "", "", "", "", "01/02/2026", "", "", ""],
    ]
    data = csv_bytes(good + bad)
    before = _counts()

    dry = _dry_run(admin_client, data).content.decode()

    assert "6 rows cannot be imported" in dry and "Import 9 rows" not in dry
    for text in (
        "<strong>provider</strong>: Not a known provider",
        "<strong>owner email</strong>: Enter a valid email address.",
        "<strong>expires</strong>: The expiry date must be after the issue date.",
        "<strong>scim url</strong>: A SCIM URL needs its token",
        "<strong>issued</strong>: The issue date cannot be in the future.",
        "<strong>name</strong>: This field is required.",
        "<strong>expires</strong>: Enter a valid date.",
    ):
        assert text in dry, text
    assert "vaultcorp" not in dry  # a refused cell is not echoed (it could be a key)

    digest = table_read(data).digest
    refused = admin_client.post(URL, {"intent": "import", "checked": digest, "file": upload(data)})

    assert refused.status_code == 200 and "Nothing was imported" in refused.content.decode()
    assert _counts() == before


def test_the_import_service_refuses_the_whole_file_for_one_bad_row(admin_user: Any) -> None:
    good, _ = _good_rows()
    table = table_read(csv_bytes([*good, ["Broken", "nope", "", "", "", "", "", "", "", ""]]))

    with pytest.raises(ImportRefused) as refused:
        integrations_import(table=table, actor=admin_user, now=NOW)

    assert [row.number for row in refused.value.plan.bad_rows] == [5]
    assert Integration.objects.count() == 0 and AuditEvent.objects.count() == 0


def test_a_token_already_stored_or_twice_in_the_file_is_refused_without_showing_it(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    _, stored_token = make_credential(name="Already here")
    twice = new_token()
    rows = [
        ["Copy of existing", "okta", "", "", "", "", "", "", "", stored_token],
        ["First", "okta", "", "", "", "", "", "", "", twice],
        ["Second", "okta", "", "", "", "", "", "", "", twice],
        ["Already here", "okta", "", "", "", "", "", "", "", ""],
    ]

    dry = _dry_run(admin_client, csv_bytes(rows)).content.decode()

    assert "This token is already stored (current version of “Already here”)." in dry
    assert "This token is also in row 3." in dry
    assert "An integration with this name already exists." in dry
    assert stored_token not in dry and twice not in dry


def test_a_token_pasted_into_free_text_is_refused_and_not_shown(admin_client: Client) -> None:
    token = new_token()
    rows = [[f"Name {token}", "okta", "", "", "", "", "", f"key is {token}", "", token]]

    dry = _dry_run(admin_client, csv_bytes(rows)).content.decode()

    assert "This looks like the key" in dry
    assert token not in dry and token[:12] not in dry


def test_formula_cells_in_a_workbook_are_refused(admin_client: Client) -> None:
    data = xlsx_bytes(
        [
            ['=HYPERLINK("https://evil.example","x")', "okta", "", "", "", "", "", "", "", ""],
            ["Owner formula", "okta", "", "=1+1", "", "", "", "", "", ""],
        ]
    )

    dry = _dry_run(admin_client, data, name="x.xlsx").content.decode()

    assert dry.count("This cell holds a formula; keyvault imports values only.") == 2
    assert "<strong>owner</strong>: This cell holds a formula" in dry


def test_formula_like_text_in_a_csv_is_kept_as_text_and_an_exported_escape_is_undone(
    admin_user: Any,
) -> None:
    rows = [
        ["Injected", "okta", "", "=cmd|' /C calc'!A0", "", "", "", "", "", ""],
        ["Escaped by an export", "okta", "", "'@team-ops", "", "", "", "", "", ""],
    ]

    integrations_import(table=table_read(csv_bytes(rows)), actor=admin_user, now=NOW)

    owners = dict(Integration.objects.values_list("name", "owner"))
    assert owners == {"Injected": "=cmd|' /C calc'!A0", "Escaped by an export": "@team-ops"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"owner,notes\nx,y\n", "missing: name, provider"),
        (b"name,provider\n\xff\xfe\x00bad", "not UTF-8"),
        (b"PK\x03\x04not really a zip", "not an XLSX workbook"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(SheetError, match=message):
        table_read(data)


def test_a_dry_run_of_another_file_does_not_import_it(admin_client: Client) -> None:
    rows, _ = _good_rows()
    data = csv_bytes(rows)

    response = admin_client.post(
        URL, {"intent": "import", "checked": "0" * 64, "file": upload(data)}
    )

    assert "This is not the file the dry run checked." in response.content.decode()
    assert Integration.objects.count() == 0


def test_the_upload_is_kept_in_memory_never_in_a_temporary_file(
    admin_client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django would spill anything larger to disk
    rows = [[f"Row {n}", "okta", "", "", "", "", "", "x" * 100, "", new_token()] for n in range(60)]

    response = _dry_run(admin_client, csv_bytes(rows))

    assert "Every row can be imported: 60 with its secret" in response.content.decode()
    assert list(tmp_path.iterdir()) == []


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    admin_client: Client, settings: Any
) -> None:
    settings.KEYVAULT_IMPORT_MAX_BYTES = 1024
    data = csv_bytes(
        [[f"Row {n}", "okta", "", "", "", "", "", "x" * 500, "", ""] for n in range(200)]
    )

    response = _dry_run(admin_client, data)

    assert response.status_code == 413
    assert "too large" in response.content.decode()


def test_ten_thousand_rows_import_in_one_transaction(admin_user: Any) -> None:
    rows = [
        [
            f"Bulk {n:05}",
            "okta",
            "",
            "Ops",
            "",
            "",
            "2026-12-01",
            "",
            "",
            new_token() if n % 2 else "",
        ]
        for n in range(10_000)
    ]
    table = table_read(csv_bytes(rows))

    plan = integrations_import(table=table, actor=admin_user, now=NOW)

    assert (plan.with_secret, plan.metadata_only) == (5_000, 5_000)
    assert Integration.objects.count() == 10_000
    assert Credential.objects.filter(secret_stored=False, state="current").count() == 5_000
    assert AuditEvent.objects.get().details["rows"] == 10_000


def test_the_dry_run_plan_holds_no_secret_in_its_text(admin_user: Any) -> None:
    rows, tokens = _good_rows()

    plan = import_plan(table=table_read(csv_bytes(rows)), now=NOW)

    assert plan.ok
    text = repr(plan)
    assert not any(token in text for token in tokens)


def test_an_import_without_the_csrf_token_is_refused_and_writes_nothing(admin_user: Any) -> None:
    # The view swaps the upload handlers, so it checks CSRF itself after that (csrf_protect).
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    rows, _ = _good_rows()
    before = _counts()

    response = client.post(
        URL, {"intent": "import", "checked": "0" * 64, "file": upload(csv_bytes(rows))}
    )

    assert response.status_code == 403
    assert _counts() == before
