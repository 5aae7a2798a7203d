"""An admin imports a spreadsheet of 50 keys after a dry run, then makes a calendar feed
address and subscribes to it, in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from keyvault.accounts.services import user_create
from keyvault.models import Credential, Integration, Role
from tests.browser.journey import sign_in
from tests.factories import PASSWORD, new_token
from tests.keyvault.inventory_helpers import csv_bytes

pytestmark = pytest.mark.browser


def test_admin_imports_fifty_rows_after_a_dry_run_and_subscribes_to_the_feed(
    page: Page, live_server: Any, transactional_db: Any, results_dir: Path, tmp_path: Path
) -> None:
    user_create(username="alice", password=PASSWORD, role=Role.ADMIN)
    tokens = [new_token() if n % 3 else "" for n in range(50)]
    rows = [
        [f"Team {n:02d} API", "generic_api_key", "okta", f"Team {n % 5}", "", "",
         f"2027-{n % 12 + 1:02d}-10", "", "", tokens[n]]
        for n in range(50)
    ]  # fmt: skip
    sheet = tmp_path / "keys.csv"
    sheet.write_bytes(csv_bytes(rows))
    sign_in(page, live_server, "alice")

    page.get_by_role("link", name="Import…").click()
    page.locator("form:has(button:text('Dry run')) input[type=file]").set_input_files(sheet)
    page.get_by_role("button", name="Dry run").click()
    summary = "Every row can be imported: 33 with its secret, 17 metadata only."
    expect(page.get_by_text(summary)).to_be_visible()
    page.screenshot(path=str(results_dir / "import-dry-run.png"), full_page=True)
    assert not any(token and token in page.content() for token in tokens)
    assert Integration.objects.count() == 0

    page.locator("form:has(button:text('Import 50 rows')) input[type=file]").set_input_files(sheet)
    page.get_by_role("button", name="Import 50 rows").click()

    expect(page.get_by_text("Imported 50 integrations (17 metadata only).")).to_be_visible()
    assert Credential.objects.filter(state="current").count() == 50
    expect(page.get_by_text("secret not stored here")).to_have_count(0)  # not on the dashboard

    page.get_by_role("link", name="Calendar").click()
    page.get_by_role("button", name="Make my feed address").click()
    address = page.locator("#feed-url").inner_text()
    assert re.fullmatch(r"https?://\S+/calendar/[\w-]+\.ics", address)
    path = address[address.index("/calendar/") :]
    feed = page.request.get(f"{live_server.url}{path}")
    assert feed.status == 200
    assert len(Calendar.from_ical(feed.body()).walk("VEVENT")) == 50
