"""Sign-in through the company's identity provider in Chromium, against a real OpenID provider
on 127.0.0.1 (oidc-provider-mock): the groups claim makes an admin, who confirms a reveal by
signing in there again; signing out ends the session at the provider too; taken into the
auditors' group the same person is an auditor at the next sign-in; in no group they are
refused and told why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import SSO_NAME
from tests.factories import credential_make
from tests.oidc_provider import ADMIN_GROUP, AUDITOR_GROUP, OidcProvider

pytestmark = pytest.mark.browser


def sign_in_at_provider(page: Page, sub: str) -> None:
    """On the provider's own sign-in form: type the subject, authorize."""
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def sso_sign_in(page: Page, live_server: Any, sub: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("button", name=f"Sign in with {SSO_NAME}").click()
    sign_in_at_provider(page, sub)


def test_the_groups_claim_gives_the_role_at_every_sso_sign_in(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    idp: OidcProvider,
    admin_user: Any,
    results_dir: Path,
    settings: Any,
) -> None:
    settings.SITE_URL = live_server.url  # where the provider sends the browser after sign-out
    credential, token = credential_make(actor=admin_user, name="Atlassian — acme")
    idp.set_user("nina-sub", email="nina@example.com", groups=[ADMIN_GROUP])

    sso_sign_in(page, live_server, "nina-sub")
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    expect(page.locator(".role-tag")).to_have_text("admin")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_be_visible()

    # Reveal: confirmed by signing in at the provider again, no keyvault password asked.
    page.goto(f"{live_server.url}/credentials/{credential.pk}/reveal/")
    expect(page.get_by_label("Your password")).to_have_count(0)
    page.get_by_role("button", name=f"Confirm with {SSO_NAME}").click()
    sign_in_at_provider(page, "nina-sub")
    expect(page.locator("#revealed-token")).to_have_text(token)
    page.screenshot(path=str(results_dir / "sso-reveal.png"), full_page=True)

    # Sign out ends the session at the provider too (the redirect after the form is allowed by
    # the CSP form-action), which sends the browser back to keyvault's sign-in page; signing in
    # again shows the provider's sign-in form.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible()
    assert page.url.startswith(idp.discovery()["end_session_endpoint"] + "?")
    page.get_by_role("button", name="End session").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    idp.set_user("nina-sub", email="nina@example.com", groups=[AUDITOR_GROUP])
    page.get_by_role("button", name=f"Sign in with {SSO_NAME}").click()
    expect(page.get_by_placeholder("sub")).to_be_visible()
    sign_in_at_provider(page, "nina-sub")
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    expect(page.locator(".role-tag")).to_have_text("auditor")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="New integration")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    idp.set_user("nina-sub", email="nina@example.com", groups=["engineering"])
    sso_sign_in(page, live_server, "nina-sub")
    expect(page.get_by_role("heading", name=f"Sign-in through {SSO_NAME} refused")).to_be_visible()
    expect(
        page.get_by_text("is in none of the groups that give access to keyvault")
    ).to_be_visible()
    page.screenshot(path=str(results_dir / "sso-refused.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("button", name=f"Sign in with {SSO_NAME}")).to_be_visible()
