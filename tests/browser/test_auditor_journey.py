"""An auditor filters the audit log, exports it as CSV and finds no secret control, in Chromium."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from keyvault.vault.services import credential_reveal
from tests.browser.journey import sign_in
from tests.factories import ATLASSIAN_URL, new_token

pytestmark = pytest.mark.browser

TARGET = "Atlassian Cloud — acme (Okta SCIM)"
OTHER = "Slack — acme (Okta SCIM)"


def test_auditor_filters_the_log_exports_csv_and_finds_no_rotate_or_reveal_control(
    page: Page,
    live_server: Any,
    transactional_db: Any,
    admin_user: Any,
    auditor_user: Any,
    make_credential: Any,
    results_dir: Path,
) -> None:
    now = timezone.now()
    target, target_token = make_credential(name=TARGET, issued_at=now - timedelta(days=360))
    _, other_token = make_credential(name=OTHER, issued_at=now - timedelta(days=10))
    credential_reveal(credential=target, actor=admin_user, now=now)
    secret = rotation_secret_clean(
        credential=target, scim_url="", token=new_token(), expires_at=None, now=now
    )
    credential_rotate(credential=target, secret=secret, actor=admin_user, now=now, reason="yearly")
    audit_append(
        action=AuditAction.LOGIN_FAILED, now=now, actor_label="=cmd|' /C calc'!A0", details={}
    )

    sign_in(page, live_server, auditor_user.username)
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    page.get_by_label("Integration").fill(TARGET.upper())  # a name, in any case
    page.get_by_label("From").fill((now - timedelta(days=365)).date().isoformat())
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("#audit-events tbody tr")
    expect(rows).to_have_count(4)  # integration and credential created, revealed, rotated
    expect(rows.nth(0)).to_contain_text("Credential rotated")
    expect(rows.nth(1)).to_contain_text("Credential revealed")
    for i in range(4):
        expect(rows.nth(i)).to_contain_text(TARGET)

    page.screenshot(path=results_dir / "auditor-audit-log.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("keyvault-audit-")
    body = open(download.path(), encoding="utf-8").read()  # noqa: SIM115
    exported = list(csv.DictReader(io.StringIO(body)))
    assert [r["action"] for r in exported] == [
        "integration.created",
        "credential.created",
        "credential.revealed",
        "credential.rotated",
    ]
    for secret_text in (target_token, other_token, ATLASSIAN_URL):
        assert secret_text not in body

    # The export is in the log, recorded with its filter.
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Action").select_option(label="Audit log exported")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-events tbody tr")).to_have_count(1)
    expect(page.locator("#audit-events tbody tr")).to_contain_text(str(target.integration_id))

    # Nowhere an auditor can go offers to rotate, revoke or reveal.
    page.get_by_role("link", name="Compliance").click()
    expect(page.get_by_role("heading", name="Compliance", level=1)).to_be_visible()
    expect(page.locator("svg.kv-timeline")).to_be_visible()
    page.screenshot(path=results_dir / "auditor-compliance.png", full_page=True)
    visited = [page.url]
    page.get_by_role("link", name="Integrations").click()
    visited.append(page.url)
    page.get_by_role("link", name=TARGET).first.click()
    visited.append(page.url)
    page.get_by_role("link", name="History and rotations").click()
    visited.append(page.url)
    expect(page.locator("#rotations")).to_contain_text("5 days early")
    page.screenshot(path=results_dir / "auditor-history.png", full_page=True)
    for url in visited:
        page.goto(url)
        for name in ("Rotate", "Revoke", "Reveal", "Add credential"):
            expect(page.get_by_role("link", name=name)).to_have_count(0)
            expect(page.get_by_role("button", name=name)).to_have_count(0)
        html = page.content()
        assert "/rotate/" not in html and "/reveal/" not in html and "/revoke/" not in html
        assert target_token not in html and other_token not in html
