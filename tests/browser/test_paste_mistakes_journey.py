"""A paste survives mistakes, in Chromium: a wrong URL shape is flagged before anything is
sent, and a refusal by the server (the token is already stored) keeps every typed value in the
form while no response carries the token."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

from keyvault.models import Credential, CredentialState, Integration
from tests.browser.journey import sign_in
from tests.factories import new_token

pytestmark = pytest.mark.browser

NAME = "Atlassian Cloud — beta (Okta SCIM)"


class Traffic:
    """The POSTs the page sent and the text of every answer it got."""

    def __init__(self, page: Page) -> None:
        self.posts: list[str] = []
        self.bodies: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Request) -> None:
        if request.method == "POST":
            self.posts.append(request.url)

    def _response(self, response: Response) -> None:
        if response.request.resource_type in ("document", "fetch", "xhr"):
            try:
                self.bodies.append(response.text())
            except Exception:  # a redirect has no body to read
                self.bodies.append("")


def test_a_wrong_url_and_a_duplicate_token_cost_no_retyping(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    _, stored_token = make_credential(name="Atlassian Cloud — acme")
    good_url = f"https://api.atlassian.com/scim/directory/{uuid.uuid4()}"
    problems: list[str] = []  # script errors and CSP refusals

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, admin_user.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New integration").click()
    expect(
        page.get_by_text("Keep the vendor's dialog open until keyvault says “Saved”.")
    ).to_be_visible()
    traffic = Traffic(page)

    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Provider", exact=True).select_option("atlassian")
    url_input = page.get_by_label("Directory base URL")
    token_input = page.get_by_label("API key", exact=True)
    url_input.fill("https://api.atlassian.com/scim/v2/directory/beta")  # a wrong shape
    token_input.fill(stored_token)

    # Flagged in the browser before anything is sent.
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the highlighted fields")
    expect(page.locator(".field--error")).to_contain_text(
        "This does not look like an Atlassian URL; expected "
        "https://api.atlassian.com/scim/directory/<directory uuid>."
    )
    assert traffic.posts == []
    expect(token_input).to_have_value(stored_token)
    page.screenshot(path=str(results_dir / "paste-wrong-url.png"), full_page=True)

    # Refused by the server: the token is already stored. Only the messages change.
    url_input.fill(good_url)
    page.get_by_role("button", name="Save integration").click()
    expect(page.locator(".field--error")).to_contain_text("This token is already stored")
    expect(page.get_by_role("alert")).to_contain_text("Everything you typed is still here")
    assert len(traffic.posts) == 1
    expect(token_input).to_have_value(stored_token)
    expect(url_input).to_have_value(good_url)
    expect(page.get_by_label("Name")).to_have_value(NAME)
    assert not Integration.objects.filter(name=NAME).exists()
    page.screenshot(path=str(results_dir / "paste-refused.png"), full_page=True)

    # The fixed paste is saved, and the page says so.
    fresh = new_token()
    token_input.fill(fresh)
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.get_by_text(f"Saved: “{NAME}” and its credential.")).to_be_visible()

    assert traffic.bodies  # the answers were read
    for body in traffic.bodies:
        assert stored_token not in body and fresh not in body
    assert Credential.objects.get(integration__name=NAME).unseal("token_ciphertext") == fresh
    assert problems == []


def test_a_rotation_refused_by_the_server_keeps_the_typed_key(
    page: Page, live_server: Any, transactional_db: Any, admin_user: Any, make_credential: Any
) -> None:
    current, current_token = make_credential(name=NAME)
    sign_in(page, live_server, admin_user.username)
    page.goto(f"{live_server.url}/integrations/{current.integration_id}/rotate/")
    traffic = Traffic(page)
    token_input = page.get_by_label("New API key", exact=True)
    page.get_by_label("Not yet").check()

    token_input.fill("")
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.locator(".field--error")).to_contain_text("Paste the token: it is empty.")
    assert traffic.posts == []

    token_input.fill(current_token)  # the key it replaces: refused by the server
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.locator(".field--error")).to_contain_text("This token is already stored")
    expect(token_input).to_have_value(current_token)
    for body in traffic.bodies:
        assert current_token not in body
    current.refresh_from_db()
    assert current.state == CredentialState.CURRENT
