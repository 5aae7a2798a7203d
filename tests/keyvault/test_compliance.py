"""Compliance summary: rotation figures, expired integrations, the expiry timeline SVG."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyvault.audit.compliance import compliance_summary, expiry_timeline, timeline_svg
from keyvault.models import Credential
from keyvault.rotation.services import credential_revoke, credential_rotate, rotation_secret_clean
from tests.factories import MakeCredential, new_token

REF = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
NASTY = '<script>alert(1)</script> & "co"'


def _days(n: int) -> datetime:
    return REF + timedelta(days=n)


def _rotate(credential: Credential, *, at: datetime, admin: Any) -> None:
    secret = rotation_secret_clean(
        credential=credential, scim_url="", token=new_token(), expires_at=None, now=at
    )
    credential_rotate(credential=credential, secret=secret, actor=admin, now=at)


@pytest.fixture
def estate(make_credential: MakeCredential, admin_user: Any) -> dict[str, Credential]:
    """A: rotated 5 days early; B: 5 days late; C: rotated 14 months ago (outside the window)
    and expired since; D: expired now, never rotated; E: revoked; three due in June 2027."""
    made = {}
    for name, issued in (("A", -500), ("B", -380), ("C", -700), ("D", -370), ("E", -100)):
        made[name], _ = make_credential(name=name, issued_at=_days(issued), now=_days(issued))
    _rotate(made["A"], at=_days(-140), admin=admin_user)  # A expired at -135: 5 days early
    _rotate(made["B"], at=_days(-10), admin=admin_user)  # B expired at -15: 5 days late
    _rotate(made["C"], at=_days(-420), admin=admin_user)  # new one expired at -55
    credential_revoke(credential=made["E"], reason="gone", actor=admin_user, now=_days(-1))
    for i, name in enumerate(("June 1", "June 2", NASTY)):
        made[name], _ = make_credential(
            name=name,
            issued_at=_days(-30),
            now=_days(-30),
            expires_at=datetime(2027, 6, 10 + i, tzinfo=UTC),
        )
    return made


def test_overall_figures_cover_rotations_of_the_last_twelve_months(
    estate: dict[str, Credential],
) -> None:
    overall = compliance_summary(now=REF).overall
    assert overall.count == 2  # A and B; C's rotation is 14 months old
    assert overall.on_time == 1
    assert overall.on_time_percent == 50
    assert overall.mean_lead_days == 0.0
    assert overall.worst_lead_days == -5


def test_per_integration_figures_and_expired_now(estate: dict[str, Credential]) -> None:
    summary = compliance_summary(now=REF)
    rows = {row.integration.name: row for row in summary.rows}
    assert (rows["A"].rotations.count, rows["A"].rotations.worst_lead_days) == (1, 5)
    assert rows["A"].rotations.on_time_percent == 100
    assert (rows["B"].rotations.count, rows["B"].rotations.mean_lead_days) == (1, -5.0)
    assert rows["B"].rotations.on_time_percent == 0
    assert rows["C"].rotations.count == 0 and rows["C"].rotations.on_time_percent is None
    assert rows["D"].expired and rows["C"].expired and not rows["A"].expired
    assert not rows["E"].has_current
    assert summary.expired_count == 2
    assert [r.integration.name for r in summary.expired] == ["C", "D"]  # longest expired first


def test_timeline_counts_current_expiries_per_month_and_flags_crowded_ones(
    estate: dict[str, Credential],
) -> None:
    timeline = expiry_timeline(now=REF)
    assert [m.start for m in timeline][:2] == [date(2027, 3, 1), date(2027, 4, 1)]
    assert len(timeline) == 13 and timeline[-1].start == date(2028, 3, 1)
    counts = {(m.start.year, m.start.month): m.count for m in timeline if m.count}
    # D expired this month; three in June; A's new version in October; B's new one, issued a
    # year after this month, in March 2028: the last month shown.
    assert counts == {(2027, 3): 1, (2027, 6): 3, (2027, 10): 1, (2028, 3): 1}
    assert [m.start.month for m in timeline if m.crowded] == [6]
    june = next(m for m in timeline if m.start.month == 6)
    assert june.names == ["June 1", "June 2", NASTY]


def test_timeline_svg_is_escaped_and_free_of_inline_style_and_script(
    estate: dict[str, Credential],
) -> None:
    svg = str(timeline_svg(expiry_timeline(now=REF)))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;" in svg
    assert not re.search(r"\sstyle=", svg)
    assert svg.count("<rect") == 13
    assert 'role="img"' in svg
    assert "Jun 2027: 3 expiries" in svg and "(crowded)" in svg
    assert "Crowded: Jun 2027." in svg


def test_an_empty_estate_has_no_figures_and_a_flat_timeline(db: Any) -> None:
    summary = compliance_summary(now=REF)
    assert summary.overall.count == 0 and summary.overall.on_time_percent is None
    assert summary.expired_count == 0
    assert all(m.count == 0 and not m.crowded for m in summary.timeline)
    assert str(summary.timeline_svg).count("<rect") == 13


def test_compliance_page_for_auditors(estate: dict[str, Credential], auditor_user: Any) -> None:
    with time_machine.travel(REF, tick=False):
        client = Client()
        client.force_login(auditor_user)  # a session of that day (sessions expire)
        response = client.get(reverse("keyvault:compliance"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="figure-rotations">2<', html)
    assert re.search(r'id="figure-on-time">50%<', html)
    assert re.search(r'id="figure-worst">-5 d<', html)
    assert re.search(r'id="figure-expired">2<', html)
    assert "<svg" in html and "<script>alert" not in html
    assert not re.search(r"\sstyle=", html)
    assert "Content-Security-Policy" in response
