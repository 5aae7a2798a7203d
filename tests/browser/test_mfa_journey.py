"""An admin, required to have a second factor, signs in and is sent to enrol; enrols an
authenticator app (its code computed here with pyotp), signs out, and signs in again with the
password and a code, in Chromium."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _next_code(totp: pyotp.TOTP, used: str) -> str:
    """A code other than ``used`` (a TOTP code signs in once): wait for the next period."""
    while (code := totp.now()) == used:
        time.sleep(0.5)
    return code


def test_admin_enrols_totp_signs_out_and_signs_in_with_password_and_code(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    settings: Any,
    results_dir: Path,
) -> None:
    settings.KEYVAULT_REQUIRE_MFA = "admins"
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Required and missing: enrolment first (the sign-in just now confirmed it is them).
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    page.goto(f"{live_server.url}/")  # any other page sends back here
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    used = totp.now()
    page.locator('input[name="code"]').fill(used)
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Recovery codes", level=1)).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    expect(page.locator("#mfa")).to_contain_text("Recovery codes")
    page.screenshot(path=str(results_dir / "mfa-account.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in to keyvault")).to_be_visible()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication", level=1)).to_be_visible()
    page.locator('input[name="code"]').fill("000000" if used != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field__errors")).to_be_visible()
    page.locator('input[name="code"]').fill(_next_code(totp, used))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()

    assert Authenticator.objects.filter(user=admin_user, type="totp").exists()
    assert AuditEvent.objects.filter(action=AuditAction.USER_MFA_ENABLED).count() == 1
