"""An admin, required to have a second factor, signs in and is sent to enrol; adds a security key
(Chromium's virtual authenticator, through the DevTools protocol's WebAuthn domain: the real
navigator.credentials path of the browser), signs out, signs in with the password and a touch of
the key, and reveals a credential with the password and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _virtual_key(page: Page) -> Any:
    """A USB security key plugged into this page's browser, touched whenever asked."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def _sign_in_with_password(page: Page, live_server: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_admin_adds_a_security_key_signs_in_with_it_and_reveals_with_it(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    settings: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    assert live_server.url.startswith("http://localhost:")  # a key needs a host name
    settings.KEYVAULT_REQUIRE_MFA = "admins"
    credential, token = make_credential(name="Atlassian")
    _virtual_key(page)

    _sign_in_with_password(page, live_server)
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    page.get_by_role("link", name="add a security key or passkey").click()
    expect(page.get_by_role("heading", name="Add a security key", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Desk key")
    page.get_by_role("button", name="Add security key").click()
    expect(page.get_by_role("heading", name="Recovery codes", level=1)).to_be_visible()
    page.get_by_role("link", name="Done").click()
    expect(page.locator("#security-keys")).to_contain_text("Desk key")
    page.screenshot(path=str(results_dir / "security-key-account.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    _sign_in_with_password(page, live_server)
    expect(page.get_by_role("heading", name="Two-factor authentication", level=1)).to_be_visible()
    page.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()

    page.goto(f"{live_server.url}/credentials/{credential.pk}/reveal/")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Reveal with security key").click()
    expect(page.locator("#revealed-token")).to_have_text(token)

    key = Authenticator.objects.get(user=admin_user, type="webauthn")
    assert key.wrap().name == "Desk key" and key.last_used_at is not None
    enabled = AuditEvent.objects.get(action=AuditAction.USER_MFA_ENABLED)
    assert enabled.details == {"username": "alice", "kind": "security key"}
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).count() == 1
