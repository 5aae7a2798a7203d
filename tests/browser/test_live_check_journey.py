"""An admin tests keys against a real SCIM server on 127.0.0.1, in Chromium: the current key
from the integration page, then a pasted replacement from the rotate form before rotating.

"Test key" on the rotate form answers within a second, keeps the paste in the field, and no
answer from keyvault holds the token."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from keyvault.models import Credential, CredentialState
from tests.browser.journey import sign_in
from tests.factories import new_token
from tests.scim_server import ScimServer

pytestmark = pytest.mark.browser

NAME = "Directory — acme (Okta SCIM)"


def test_admin_tests_the_current_key_and_a_replacement_before_rotating(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
    scim: ScimServer,
    results_dir: Path,
) -> None:
    make_credential(name=NAME, provider="generic_scim", scim_url=scim.base_url, token=scim.token)
    wrong, replacement = new_token(), new_token()
    bodies: list[str] = []

    def keep(response: Response) -> None:
        ours = response.url.startswith(live_server.url) and response.request.method == "POST"
        if ours and not 300 <= response.status < 400:
            bodies.append(response.text())

    page.on("response", keep)
    sign_in(page, live_server, admin_user.username)
    page.get_by_role("link", name=NAME).first.click()
    page.get_by_role("button", name="Test key").click()
    expect(page.get_by_text("Valid: the vendor accepts this key.").first).to_be_visible()
    expect(page.locator("#checks-heading ~ *").get_by_text("Valid").first).to_be_visible()

    page.get_by_role("link", name="Rotate", exact=True).click()
    token_input = page.get_by_label("New bearer token", exact=True)
    result = page.locator("[data-live-check-result]")
    token_input.fill(wrong)
    started = time.monotonic()
    page.get_by_role("button", name="Test key").click()
    expect(result).to_contain_text("Rejected", timeout=1000)
    assert time.monotonic() - started < 1
    expect(result).to_contain_text("regenerated or revoked?")
    expect(token_input).to_have_value(wrong)  # no page load: the paste is still there

    scim.regenerate(replacement)  # the vendor issued the replacement
    token_input.fill(replacement)
    page.get_by_role("button", name="Test key").click()
    expect(result).to_contain_text("Valid", timeout=1000)
    page.screenshot(path=results_dir / "rotate-test-key.png", full_page=True)
    page.get_by_label("Reason").fill("Regenerated at the vendor")
    page.get_by_label("Yes, it is in and tested").check()
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()

    current = Credential.objects.get(state=CredentialState.CURRENT)
    assert current.unseal("token_ciphertext") == replacement
    assert len(bodies) >= 2  # the two tests of pasted tokens
    for body in bodies:
        assert wrong not in body and replacement not in body
    assert replacement not in page.content()
