"""An admin invites an auditor from the users page (email on the console, so the link is shown
once), the auditor sets a password and signs in with the auditor's role, in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import sign_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "bobs-own-password-2026"


def test_admin_invites_an_auditor_who_sets_a_password_and_signs_in(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    settings: Any,
    results_dir: Path,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.SITE_URL = live_server.url
    sign_in(page, live_server, "alice")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_label("Role").select_option("auditor")
    page.get_by_role("button", name="Invite").click()

    expect(page.get_by_role("heading", name="Set-password link for bob")).to_be_visible()
    link = page.locator("#invite-link").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/invite/\?t=\S+", link)
    page.screenshot(path=str(results_dir / "team-invite-link.png"), full_page=True)
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("Invited, no password yet")).to_be_visible()
    expect(page.locator("#invite-link")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Sign out").click()

    page.goto(link)
    expect(page.get_by_role("heading", name="Set your keyvault password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set. Sign in with it now.")).to_be_visible()

    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    expect(page.locator(".role-tag")).to_have_text("auditor")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="New integration")).to_have_count(0)

    page.goto(link)  # the link worked once
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
