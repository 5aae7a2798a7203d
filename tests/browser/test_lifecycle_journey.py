"""An admin, in Chromium, pastes a legacy Atlassian key of unknown expiry, sees the worst-case
date marked unconfirmed, confirms it, corrects the dates, then archives the integration
(gone from the dashboard, listed under Archived) and restores it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from keyvault.models import AuditAction, AuditEvent, Credential
from tests.browser.journey import sign_in
from tests.factories import ATLASSIAN_URL, new_token

pytestmark = pytest.mark.browser

NAME = "Atlassian — old tenant"


def test_admin_confirms_a_legacy_keys_date_corrects_it_and_archives_the_integration(
    page: Page, live_server: Any, transactional_db: Any, admin_user: Any
) -> None:
    sign_in(page, live_server, admin_user.username)
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="New integration").click()
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Directory base URL").fill(ATLASSIAN_URL)
    page.get_by_label("API key", exact=True).fill(new_token())
    page.get_by_label("Issued on").fill("2024-06-01")
    page.get_by_label("Expiry unknown — legacy key").check()
    page.get_by_role("button", name="Save integration").click()

    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.get_by_text("Worst case, unconfirmed")).to_be_visible()
    expect(page.get_by_text("1 May 2027").first).to_be_visible()
    page.get_by_role("button", name="Confirm the date").click()
    expect(page.get_by_text("Expiry date confirmed: 1 May 2027.")).to_be_visible()
    expect(page.get_by_text("Worst case, unconfirmed")).to_have_count(0)

    page.get_by_role("link", name="Correct dates").click()
    page.get_by_label("Expires on").fill("2026-12-20")
    page.get_by_role("button", name="Save dates").click()
    expect(page.get_by_text("Give a reason; it is kept in the audit log.")).to_be_visible()
    page.get_by_label("Reason").fill("admin.atlassian.com shows 20 Dec 2026")
    page.get_by_role("button", name="Save dates").click()
    expect(page.get_by_text("Dates corrected: it now expires on 20 Dec 2026.")).to_be_visible()
    expect(page.locator("#reminders-heading")).to_be_visible()

    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Archived", exact=True).first).to_be_visible()
    expect(page.get_by_text("Reminders are off: this integration is archived.")).to_be_visible()
    main_nav.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("link", name=NAME)).to_have_count(0)
    page.get_by_role("link", name="Archived").click()
    page.get_by_role("button", name=f"Restore {NAME}").click()
    expect(page.get_by_text(f"“{NAME}” was restored")).to_be_visible()

    credential = Credential.objects.get(integration__name=NAME)
    assert credential.expiry_confirmed and credential.integration.archived_at is None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        AuditAction.CREDENTIAL_EXPIRY_CONFIRMED,
        AuditAction.CREDENTIAL_DATES_CORRECTED,
        AuditAction.INTEGRATION_ARCHIVED,
        AuditAction.INTEGRATION_RESTORED,
    } <= actions
