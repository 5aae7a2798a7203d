"""Steps the browser journeys share."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def sign_in(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
