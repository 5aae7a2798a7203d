"""The dashboard sliced and sorted in Chromium: a count filters the table, a column header sorts
it both ways, and on a phone a long owner email wraps instead of widening the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.journey import sign_in

pytestmark = pytest.mark.browser

LONG_EMAIL = "platform-identity-and-access-escalations-rotation@subsidiary.example.com"


def _names(page: Page) -> list[str]:
    return page.locator("table tbody th .row-link").all_inner_texts()


@pytest.fixture
def open_dashboard(
    page: Page, live_server: Any, transactional_db: Any, auditor_user: Any
) -> Callable[[], Page]:
    """Signs the auditor in (after the test made its data); the dashboard is the landing page."""

    def open_() -> Page:
        sign_in(page, live_server, auditor_user.username)
        return page

    return open_


def test_a_count_filters_the_table_and_a_column_header_sorts_it(
    open_dashboard: Callable[[], Page], make_credential: Any, results_dir: Path
) -> None:
    now = timezone.now()
    make_credential(name="Zulu", owner="Ann", expires_at=now + timedelta(days=5))
    make_credential(name="Yankee", owner="Cleo", expires_at=now + timedelta(days=20))
    make_credential(name="X-ray", owner="Bo", expires_at=now + timedelta(days=200))
    make_credential(
        name="Whiskey",
        owner="Dee",
        issued_at=now - timedelta(days=400),
        expires_at=now - timedelta(days=2),
    )

    page = open_dashboard()
    expect(page.locator("table tbody tr")).to_have_count(4)
    assert _names(page) == ["Whiskey", "Zulu", "Yankee", "X-ray"]  # soonest expiry first
    expect(page.locator("tr.row--red")).to_have_count(2)  # expired, and 5 days left
    expect(page.locator("tr.row--amber")).to_contain_text("Due in 20 days")

    soon = page.get_by_role("link", name="2 Due within 30 days")
    soon.click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    assert _names(page) == ["Zulu", "Yankee"]
    expect(page.get_by_role("link", name="2 Due within 30 days")).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator(".table-summary")).to_contain_text("showing only “Due within 30 days”")

    page.get_by_role("link", name="Owner", exact=True).click()
    expect(page.get_by_role("columnheader", name="Owner")).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert _names(page) == ["Zulu", "Yankee"]  # Ann, Cleo
    page.get_by_role("link", name="Owner", exact=True).click()
    expect(page.get_by_role("columnheader", name="Owner")).to_have_attribute(
        "aria-sort", "descending"
    )
    assert _names(page) == ["Yankee", "Zulu"]  # the slice is kept while sorting
    assert "show=soon" in page.url and "sort=-owner" in page.url

    page.get_by_role("link", name="1 Expired").click()
    assert _names(page) == ["Whiskey"]
    page.get_by_role("link", name="Show all").click()
    expect(page.locator("table tbody tr")).to_have_count(4)
    assert _names(page) == ["Whiskey", "Yankee", "X-ray", "Zulu"]  # still by owner, descending
    page.screenshot(path=str(results_dir / "dashboard-sorted.png"), full_page=True)


def test_on_a_phone_a_long_owner_email_wraps_inside_the_page(
    page: Page, open_dashboard: Callable[[], Page], make_credential: Any, results_dir: Path
) -> None:
    make_credential(name="Wide owner", owner="Identity team", owner_email=LONG_EMAIL)
    page.set_viewport_size({"width": 360, "height": 740})

    open_dashboard()
    email = page.get_by_text(LONG_EMAIL)
    expect(email).to_be_visible()

    box = email.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    assert box["height"] > 30  # more than one line
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    page.screenshot(path=str(results_dir / "dashboard-phone.png"), full_page=True)
