"""An admin rotates a credential 7 days before it expires and reads the history, in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyvault.models import Credential, CredentialState, Rotation
from tests.browser.journey import sign_in
from tests.factories import ATLASSIAN_URL, new_token

pytestmark = pytest.mark.browser

NAME = "Atlassian Cloud — acme (Okta SCIM)"


def test_admin_rotates_a_credential_and_sees_the_history(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    issued = timezone.now() - timedelta(days=358)  # a 365-day key with 7 days left
    old, old_token = make_credential(name=NAME, issued_at=issued, now=issued)
    new_key = new_token()
    sign_in(page, live_server, admin_user.username)

    page.get_by_role("link", name=NAME).first.click()
    page.get_by_role("link", name="Rotate", exact=True).click()
    expect(page.get_by_role("heading", name="Rotate credential", level=1)).to_be_visible()
    url_input = page.get_by_label("Directory base URL")
    expect(url_input).to_have_value("")  # the current URL is kept server-side, never shown
    token_input = page.get_by_label("New API key", exact=True)
    expect(token_input).to_have_attribute("type", "password")
    assert ATLASSIAN_URL not in page.content() and old_token not in page.content()

    page.screenshot(path=results_dir / "rotate-form.png", full_page=True)
    token_input.fill(new_key)
    page.get_by_label("Reason").fill("Yearly rotation")
    page.get_by_role("button", name="Rotate", exact=True).click()  # no IdP answer yet
    expect(page.locator(".field--error")).to_contain_text("choose “yes” or “not yet”")
    expect(token_input).to_have_value(new_key)
    page.get_by_label("Yes, it is in and tested").check()
    page.get_by_role("button", name="Rotate", exact=True).click()

    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.get_by_text("Rotated 7 days early.")).to_be_visible()
    expect(page.get_by_text(f"····{new_key[-4:]}").first).to_be_visible()
    assert new_key not in page.content()

    page.get_by_role("link", name="History and rotations").click()
    expect(page.get_by_role("heading", name="History", level=1)).to_be_visible()
    rotation_row = page.locator("#rotations tbody tr")
    expect(rotation_row).to_have_count(1)
    expect(rotation_row).to_contain_text("alice")
    expect(rotation_row).to_contain_text("On time")
    expect(rotation_row).to_contain_text("7 days early")
    expect(rotation_row).to_contain_text("Yearly rotation")
    expect(rotation_row).to_contain_text(re.compile(rf"····{old.hint}\s*→\s*····{new_key[-4:]}"))
    page.screenshot(path=results_dir / "rotation-history.png", full_page=True)
    versions = page.locator("#versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("Current")
    expect(versions.nth(1)).to_contain_text("Superseded")

    old.refresh_from_db()
    assert old.state == CredentialState.SUPERSEDED
    rotation = Rotation.objects.get()
    assert (rotation.lead_time_days, rotation.idp_updated) == (7, True)
    assert Credential.objects.get(state=CredentialState.CURRENT).unseal("scim_url_ciphertext") == (
        ATLASSIAN_URL
    )


def test_a_rotation_answered_not_yet_shows_the_badge_until_an_admin_confirms_it(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    old, _ = make_credential(name=NAME, identity_provider="entra_id")
    new_key = new_token()
    sign_in(page, live_server, admin_user.username)
    page.goto(f"{live_server.url}/integrations/{old.integration_id}/rotate/")
    runbook = page.locator(".runbook")
    expect(runbook).to_contain_text("How to rotate: Atlassian → Microsoft Entra ID")
    expect(runbook).to_contain_text("The old key stops working the moment the new one is made")
    expect(runbook).to_contain_text("about 40 minutes")
    page.screenshot(path=results_dir / "rotate-runbook.png", full_page=True)

    page.get_by_label("New API key", exact=True).fill(new_key)
    page.get_by_label("Not yet").check()
    page.get_by_role("button", name="Rotate", exact=True).click()

    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.locator(".badge--idp-pending")).to_have_text(re.compile("IdP not updated"))
    page.goto(f"{live_server.url}/")
    expect(page.locator("tbody tr").filter(has_text=NAME)).to_contain_text("IdP not updated")
    page.get_by_role("link", name=NAME).first.click()
    page.get_by_role("button", name="Confirm IdP updated").click()

    expect(
        page.get_by_text(f"Confirmed: Microsoft Entra ID has the key ····{new_key[-4:]}.")
    ).to_be_visible()
    expect(page.locator(".badge--idp-pending")).to_have_count(0)
    assert not Credential.objects.get(state=CredentialState.CURRENT).idp_pending
    assert new_key not in page.content()
