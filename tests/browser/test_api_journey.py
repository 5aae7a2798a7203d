"""An admin makes an API token on the token page, copies it once, and a script lists the
integrations with it; the API docs page renders from local files under the site's CSP."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import sign_in

pytestmark = pytest.mark.browser


def _list_integrations(live_server: Any, token: str) -> list[str]:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/integrations/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [row["integration"]["name"] for row in json.load(response)["results"]]


def test_admin_creates_a_token_that_a_script_then_uses(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    make_credential(name="Atlassian Cloud — acme (Okta SCIM)")
    sign_in(page, live_server, admin_user.username)

    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    page.get_by_label("Name").fill("expiry report")
    page.get_by_label("Read metadata").check()
    page.get_by_role("button", name="Create token").click()

    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    page.get_by_role("button", name="Copy token").click()
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.screenshot(path=str(results_dir / "api-token-created.png"), full_page=True)
    assert _list_integrations(live_server, token) == ["Atlassian Cloud — acme (Okta SCIM)"]

    page.get_by_role("link", name="API tokens").click()
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()
    page.get_by_role("button", name="Revoke expiry report").click()
    expect(page.get_by_text("was revoked")).to_be_visible()
    with pytest.raises(urllib.error.HTTPError) as refused:
        _list_integrations(live_server, token)
    assert refused.value.code == 401


def test_the_api_docs_render_from_local_files_without_csp_violations(
    page: Page, live_server: Any, transactional_db: Any, results_dir: Path
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((live_server.url, "data:")) else outside.append(r.url),
    )

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.get_by_text("/api/v1/integrations/", exact=True).first).to_be_visible()
    assert page.locator(".opblock").count() >= 12
    page.screenshot(path=str(results_dir / "api-docs.png"))
    assert not problems, problems
    assert not outside, outside
