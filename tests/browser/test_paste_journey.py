"""An admin pastes a new credential, finds it on the dashboard and reveals it, in Chromium."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from keyvault.accounts.services import user_create
from keyvault.models import Credential, CredentialState, Role
from keyvault.vault.providers import IdentityProvider, ProviderKind
from tests.factories import PASSWORD, credential_make, new_token

pytestmark = pytest.mark.browser

NAME = "Atlassian Cloud — acme (Okta SCIM)"


def seed_other_integrations(admin: Any) -> None:
    """A realistic dashboard around the new row: due soon, expired, revoked, other providers."""
    now = timezone.now()
    rows = [
        (
            "Slack — acme (Okta SCIM)",
            ProviderKind.SLACK,
            "https://api.slack.com/scim/v2/",
            now - timedelta(days=353),
            now + timedelta(days=12),
            "Collaboration team",
        ),
        (
            "GitHub Enterprise — acme",
            ProviderKind.GITHUB,
            "https://api.github.com/scim/v2/enterprises/acme",
            now - timedelta(days=368),
            now - timedelta(days=3),
            "Developer platform",
        ),
        (
            "Entra ID — HR sync app",
            ProviderKind.ENTRA_ID,
            "",
            now - timedelta(days=20),
            now + timedelta(days=160),
            "Identity team",
        ),
        (
            "Okta API — provisioning bot",
            ProviderKind.OKTA,
            "https://acme.okta.com",
            now - timedelta(days=100),
            now + timedelta(days=265),
            "Identity team",
        ),
        (
            "Atlassian Cloud — globex (Okta SCIM)",
            ProviderKind.ATLASSIAN,
            f"https://api.atlassian.com/scim/directory/{uuid.uuid4()}",
            now - timedelta(days=200),
            now + timedelta(days=165),
            "IT platform",
        ),
    ]
    for name, provider, url, issued, expires, owner in rows:
        credential_make(
            actor=admin,
            name=name,
            provider=provider,
            scim_url=url,
            issued_at=issued,
            expires_at=expires,
            now=now,
            owner=owner,
            identity_provider=IdentityProvider.ENTRA_ID
            if provider == ProviderKind.ENTRA_ID
            else IdentityProvider.OKTA,
        )
    # No revoke page in this journey: leave one version as the revoke service would.
    Credential.objects.filter(integration__name="Okta API — provisioning bot").update(
        state=CredentialState.REVOKED, revoked_at=now
    )


def test_admin_pastes_a_credential_sees_it_on_the_dashboard_and_reveals_it(
    page: Page, live_server: Any, transactional_db: Any, results_dir: Path
) -> None:
    admin = user_create(username="alice", password=PASSWORD, role=Role.ADMIN)
    seed_other_integrations(admin)
    token = new_token()
    scim_url = f"https://api.atlassian.com/scim/directory/{uuid.uuid4()}"
    csp_errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            csp_errors.append(message.text)

    page.on("console", on_console)

    # Every page is behind login.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()

    # Paste.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New integration").click()
    expect(page.get_by_role("heading", name="New integration")).to_be_visible()
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Provider", exact=True).select_option("entra_id")
    expect(page.get_by_text("180 days after the issue date")).to_be_visible()
    page.get_by_label("Provider", exact=True).select_option("atlassian")
    expect(
        page.get_by_text("Expected shape: https://api.atlassian.com/scim/directory/")
    ).to_be_visible()
    expect(page.get_by_text("365 days after the issue date (")).to_be_visible()
    page.get_by_label("Identity provider").select_option("okta")
    page.get_by_label("Owner (optional)", exact=True).fill("IT platform")
    page.get_by_label("Owner email").fill("it-platform@example.com")
    page.get_by_label("Directory base URL").fill(scim_url)
    token_input = page.get_by_label("API key", exact=True)
    expect(token_input).to_have_attribute("type", "password")
    expect(token_input).to_have_attribute("autocomplete", "off")
    token_input.fill(token + "\n")
    page.screenshot(path=str(results_dir / "paste-form.png"), full_page=True)
    page.get_by_role("button", name="Save integration").click()

    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.get_by_text(f"Saved: “{NAME}” and its credential.")).to_be_visible()
    assert token not in page.content()

    # The dashboard: a year left, status OK in words.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NAME))
    expect(row).to_contain_text("expires in 365 days")
    expect(row.locator(".badge")).to_have_text("✓OK")
    expect(page.get_by_role("row").nth(1)).to_contain_text("GitHub Enterprise — acme")
    expect(page.get_by_role("row").nth(1)).to_contain_text("expired 3 days ago")
    expect(page.get_by_role("row").nth(2)).to_contain_text("Due in 12 days")
    page.screenshot(path=str(results_dir / "dashboard.png"), full_page=True)

    # Detail, then reveal after the password.
    row.get_by_role("link", name=NAME).click()
    expect(page.get_by_text("Expires in 365 days")).to_be_visible()
    expect(page.get_by_text(f"····{token[-4:]}").first).to_be_visible()
    page.screenshot(path=str(results_dir / "detail.png"), full_page=True)
    page.get_by_role("link", name="Reveal URL and token…").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Reveal").click()

    expect(page.locator("#revealed-token")).to_have_text(token)
    expect(page.locator("#revealed-scim-url")).to_have_text(scim_url)
    page.get_by_role("button", name="Copy API key").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(
        "Copied to the clipboard."
    )
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert csp_errors == []


def test_the_dashboard_reads_well_on_a_phone(
    page: Page, live_server: Any, transactional_db: Any, results_dir: Path
) -> None:
    admin = user_create(username="alice", password=PASSWORD, role=Role.ADMIN)
    seed_other_integrations(admin)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    row = page.get_by_role("row").filter(has_text="GitHub Enterprise — acme")
    expect(row).to_contain_text("expired 3 days ago")
    # Stacked cards: no horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(results_dir / "dashboard-phone.png"), full_page=True)
