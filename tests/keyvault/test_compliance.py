"""Compliance summary: retirement figures (late ones and their lapse) for a date range, expired
integrations, the expiry timeline SVG."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyvault.audit.compliance import DateRange, compliance_summary, lapsed_days
from keyvault.audit.timeline import expiry_timeline, timeline_svg
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


def test_overall_figures_cover_rotations_and_revocations_of_the_last_twelve_months(
    estate: dict[str, Credential],
) -> None:
    overall = compliance_summary(now=REF).overall
    assert (overall.count, overall.rotated, overall.revoked) == (3, 2, 1)  # A, B; E revoked
    assert overall.late == 1  # B; C's rotation is 14 months old
    assert overall.on_time == 2
    assert overall.on_time_percent == 67
    assert (overall.worst_lapse_days, overall.mean_lapse_days) == (5, 5.0)
    assert overall.mean_lead_days == 0.0
    assert overall.worst_lead_days == -5


def test_per_integration_figures_and_expired_now(estate: dict[str, Credential]) -> None:
    summary = compliance_summary(now=REF)
    rows = {row.integration.name: row for row in summary.rows}
    assert (rows["A"].retirements.count, rows["A"].retirements.worst_lead_days) == (1, 5)
    assert rows["A"].retirements.on_time_percent == 100
    assert (rows["B"].retirements.count, rows["B"].retirements.mean_lead_days) == (1, -5.0)
    assert rows["B"].retirements.on_time_percent == 0
    assert (rows["B"].retirements.late, rows["B"].retirements.worst_lapse_days) == (1, 5)
    assert rows["C"].retirements.count == 0 and rows["C"].retirements.on_time_percent is None
    assert (rows["E"].retirements.revoked, rows["E"].retirements.late) == (1, 0)
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
    assert re.search(r'id="figure-revocations">1<', html)
    assert re.search(r'id="figure-on-time">67%<', html)
    assert re.search(r'id="figure-late">1<', html)
    assert re.search(r'id="figure-lapsed">5 d<', html)
    assert re.search(r'id="figure-worst">-5 d<', html)
    assert re.search(r'id="figure-expired">2<', html)
    assert "<svg" in html and "<script>alert" not in html
    assert not re.search(r"\sstyle=", html)
    assert "Content-Security-Policy" in response


# --- lapses: a credential retired after it expired is late, however it was retired ---


@pytest.fixture
def lapses(make_credential: MakeCredential, admin_user: Any) -> dict[str, Credential]:
    """Each integration's only credential, retired (or not) around its expiry, before ``REF``."""
    made = {}
    for name, expires in (
        ("rotated late", -35),
        ("revoked after lapse", -7),
        ("rotated on time", 65),
        ("never expired", 100),
        ("rotated hours late", -20),
    ):
        made[name], _ = make_credential(
            name=name,
            issued_at=_days(expires - 300),
            now=_days(expires - 300),
            expires_at=_days(expires),
        )
    _rotate(made["rotated late"], at=_days(-30), admin=admin_user)
    credential_revoke(
        credential=made["revoked after lapse"], reason="vendor gone", actor=admin_user, now=REF
    )
    _rotate(made["rotated on time"], at=_days(-10), admin=admin_user)
    _rotate(made["rotated hours late"], at=_days(-20) + timedelta(hours=3), admin=admin_user)
    return made


def test_lapse_counting_with_pinned_time(lapses: dict[str, Credential]) -> None:
    summary = compliance_summary(now=REF)
    rows = {row.integration.name: row.retirements for row in summary.rows}
    assert (rows["rotated late"].late, rows["rotated late"].worst_lapse_days) == (1, 5)
    assert (rows["revoked after lapse"].late, rows["revoked after lapse"].worst_lapse_days) == (
        1,
        7,
    )
    assert (rows["rotated on time"].late, rows["rotated on time"].worst_lapse_days) == (0, None)
    assert rows["never expired"].count == 0 and rows["never expired"].late == 0
    # Rotated on its expiry day (lead time 0, "on the day it expires") but after the moment.
    hours = rows["rotated hours late"]
    assert (hours.late, hours.worst_lapse_days, hours.worst_lead_days) == (1, 1, 0)
    overall = summary.overall
    assert (overall.count, overall.late, overall.on_time_percent) == (4, 3, 25)
    assert (overall.worst_lapse_days, overall.mean_lapse_days) == (7, 4.0)


def test_a_revoked_key_that_sat_expired_is_not_reported_as_all_on_time(
    make_credential: MakeCredential, admin_user: Any, auditor_user: Any
) -> None:
    credential, _ = make_credential(
        name="Lonely", issued_at=_days(-372), now=_days(-372), expires_at=_days(-7)
    )
    credential_revoke(credential=credential, reason="forgotten", actor=admin_user, now=REF)
    with time_machine.travel(REF + timedelta(hours=1), tick=False):
        client = Client()
        client.force_login(auditor_user)
        html = client.get(reverse("keyvault:compliance")).content.decode()
    assert re.search(r'id="figure-on-time">0%<', html)
    assert re.search(r'id="figure-late">1<', html)
    assert re.search(r'id="figure-lapsed">7 d<', html)
    assert re.search(r'id="figure-expired">0<', html)  # nothing is expired *now*


def test_lapse_figures_take_the_same_queries_for_any_number_of_credentials(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            compliance_summary(now=REF)
        return len(ctx.captured_queries)

    def late_revocation(i: int) -> None:
        credential, _ = make_credential(
            name=f"late {i}", issued_at=_days(-300), now=_days(-300), expires_at=_days(-20 + i)
        )
        credential_revoke(credential=credential, reason="late", actor=admin_user, now=_days(-1))

    late_revocation(0)
    few = queries()
    for i in range(1, 9):
        late_revocation(i)
    assert queries() == few
    assert compliance_summary(now=REF).overall.late == 9


def test_lapsed_days_count_part_days_as_whole_ones() -> None:
    assert lapsed_days(None) == 0
    assert lapsed_days(timedelta(0)) == 0
    assert lapsed_days(-timedelta(days=3)) == 0
    assert lapsed_days(timedelta(minutes=1)) == 1
    assert lapsed_days(timedelta(days=7)) == 7
    assert lapsed_days(timedelta(days=7, seconds=1)) == 8


# --- the date range ---


def test_a_date_range_narrows_the_figures(estate: dict[str, Credential]) -> None:
    # Only B's rotation (10 days before REF) and E's revocation (1 day before) are in range.
    recent = compliance_summary(
        now=REF, date_range=DateRange(start=_days(-12).date(), end=REF.date())
    )
    assert (recent.overall.rotated, recent.overall.revoked, recent.overall.late) == (1, 1, 1)
    # C's rotation, 14 months ago, only in a range that reaches back that far.
    old = compliance_summary(
        now=REF, date_range=DateRange(start=_days(-430).date(), end=_days(-400).date())
    )
    assert (old.overall.rotated, old.overall.worst_lead_days) == (1, 85)
    # Both ends are included, in local days.
    day = _days(-140).date()
    assert compliance_summary(now=REF, date_range=DateRange(day, day)).overall.rotated == 1


def _page(client: Client, **params: str) -> Any:
    return client.get(reverse("keyvault:compliance"), params)


@pytest.fixture
def auditor_at_ref(auditor_user: Any) -> Any:
    with time_machine.travel(REF, tick=False):
        client = Client()
        client.force_login(auditor_user)
        yield client


def test_the_page_defaults_to_the_last_twelve_months_and_takes_a_range(
    estate: dict[str, Credential], auditor_at_ref: Client
) -> None:
    default = _page(auditor_at_ref)
    assert default.context["summary"].range == DateRange(date(2026, 3, 15), date(2027, 3, 15))
    html = default.content.decode()
    assert 'name="date_from" value="2026-03-15"' in html  # the export posts the range shown
    assert re.search(r'type="date" name="date_from" value="2026-03-15"', html)  # and the box
    assert 'name="date_to" value="2027-03-15"' in html
    narrowed = _page(auditor_at_ref, date_from="2027-03-01", date_to="2027-03-15")
    assert re.search(r'id="figure-rotations">1<', narrowed.content.decode())
    assert narrowed.context["summary"].range == DateRange(date(2027, 3, 1), date(2027, 3, 15))
    only_end = _page(auditor_at_ref, date_to="2026-03-01")
    assert only_end.context["summary"].range == DateRange(date(2025, 3, 1), date(2026, 3, 1))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"date_from": "2027-02-30"}, "Enter a valid date."),
        ({"date_to": "yesterday"}, "Enter a valid date."),
        (
            {"date_from": "2027-03-10", "date_to": "2027-03-01"},
            "The end date is before the start date.",
        ),
        ({"date_from": "10000-01-01"}, "Enter a valid date."),
    ],
)
def test_bad_dates_are_field_errors_and_the_figures_use_the_default_range(
    estate: dict[str, Credential], auditor_at_ref: Client, params: dict[str, str], error: str
) -> None:
    response = _page(auditor_at_ref, **params)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["summary"].range == DateRange(date(2026, 3, 15), date(2027, 3, 15))


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-01"},
    ],
)
def test_calendar_edge_dates_do_not_crash(
    estate: dict[str, Credential],
    auditor_at_ref: Client,
    settings: Any,
    zone: str,
    params: dict[str, str],
) -> None:
    settings.TIME_ZONE = zone
    response = _page(auditor_at_ref, **params)
    assert response.status_code == 200
    assert not response.context["form"].errors


def test_the_whole_calendar_holds_every_retirement(estate: dict[str, Credential]) -> None:
    everything = compliance_summary(now=REF, date_range=DateRange(date.min, date.max))
    assert (everything.overall.rotated, everything.overall.revoked) == (3, 1)
