"""Calendar days in local time, and the words pages and messages use for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from keyvault.models import CredentialState
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.expiry import (
    Urgency,
    days_left,
    expiry_phrase,
    lead_time_phrase,
    local_midnight,
    threshold_phrase,
    urgency,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_local_midnight_is_the_start_of_the_day_in_the_zone() -> None:
    start = local_midnight(date(2026, 3, 1), BERLIN)

    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert (start.hour, start.minute) == (0, 0)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Havana", date(2026, 3, 8)),  # summer time from 00:00
        ("America/Santiago", date(2026, 9, 6)),
        ("Asia/Beirut", date(2026, 3, 29)),
    ],
)
def test_a_day_without_a_midnight_starts_at_its_first_real_instant(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)

    start = local_midnight(day, tz)

    assert start.hour == 1
    assert start.date() == day
    # A real instant: converting to UTC and back lands on the same wall time.
    assert start.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == start.replace(tzinfo=None)


def test_local_midnight_uses_the_current_time_zone_by_default() -> None:
    from django.utils import timezone

    with timezone.override(BERLIN):
        assert local_midnight(date(2026, 7, 1)).utcoffset() == BERLIN.utcoffset(
            datetime(2026, 7, 1)
        )


def test_days_left_counts_local_calendar_days() -> None:
    late_evening = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    next_morning = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

    assert days_left(next_morning, now=late_evening, tz=BERLIN) == 1


@pytest.mark.parametrize(
    ("days", "expired", "phrase"),
    [
        (365, False, "expires in 365 days"),
        (1, False, "expires tomorrow"),
        (0, False, "expires today"),
        (0, True, "expired today"),
        (-1, True, "expired yesterday"),
        (-3, True, "expired 3 days ago"),
    ],
)
def test_expiry_phrase(days: int, expired: bool, phrase: str) -> None:
    assert expiry_phrase(days=days, expired=expired) == phrase


@pytest.mark.parametrize(
    ("threshold", "phrase"),
    [
        (7, "7 days before expiry"),
        (1, "1 day before expiry"),
        (0, "on the expiry day"),
        (-1, "1 day after expiry"),
        (-2, "2 days after expiry"),
    ],
)
def test_threshold_phrase(threshold: int, phrase: str) -> None:
    assert threshold_phrase(threshold) == phrase


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(7, "7 days early"), (1, "1 day early"), (0, "on the day it expires"), (-3, "3 days late")],
)
def test_lead_time_phrase(days: int, phrase: str) -> None:
    assert lead_time_phrase(days) == phrase


@dataclass(frozen=True)
class Version:
    expires_at: datetime
    state: str = CredentialState.CURRENT
    check_status: str = ""


NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (Version(NOON - timedelta(days=40)), Urgency.RED),  # expired long ago
        (Version(NOON - timedelta(seconds=1)), Urgency.RED),  # expired a moment ago
        (Version(NOON + timedelta(hours=1)), Urgency.RED),  # expires today
        (Version(NOON + timedelta(days=7)), Urgency.RED),
        (Version(datetime(2026, 3, 8, 23, 59, tzinfo=UTC)), Urgency.RED),  # 7 calendar days
        (Version(datetime(2026, 3, 9, 0, 0, tzinfo=UTC)), Urgency.AMBER),  # 8 calendar days
        (Version(NOON + timedelta(days=8)), Urgency.AMBER),
        (Version(NOON + timedelta(days=30)), Urgency.AMBER),
        (Version(NOON + timedelta(days=31)), Urgency.GREEN),
        (Version(NOON + timedelta(days=365)), Urgency.GREEN),
        (Version(NOON + timedelta(days=365), check_status=CheckStatus.REJECTED), Urgency.RED),
        (Version(NOON + timedelta(days=365), check_status=CheckStatus.UNREACHABLE), Urgency.GREEN),
        (Version(NOON + timedelta(days=20), check_status=CheckStatus.VALID), Urgency.AMBER),
        (Version(NOON + timedelta(days=3), state=CredentialState.SUPERSEDED), Urgency.NONE),
        (
            Version(
                NOON - timedelta(days=1),
                state=CredentialState.REVOKED,
                check_status=CheckStatus.REJECTED,
            ),
            Urgency.NONE,
        ),
        (None, Urgency.NONE),
    ],
)
def test_urgency_is_red_within_7_days_amber_within_30_green_beyond(
    version: Version | None, expected: Urgency
) -> None:
    assert urgency(version, now=NOON, soon_days=30, tz=UTC) == expected


def test_urgency_counts_local_calendar_days() -> None:
    # 23:30 UTC on 1 March is already 2 March in Berlin: 8 March 12:00 is 6 days away there.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    nine_march = Version(datetime(2026, 3, 9, 6, 0, tzinfo=UTC))

    assert urgency(nine_march, now=late, soon_days=30, tz=UTC) == Urgency.AMBER  # 8 days
    assert urgency(nine_march, now=late, soon_days=30, tz=BERLIN) == Urgency.RED  # 7 days


def test_amber_follows_the_due_soon_setting() -> None:
    in_45_days = Version(NOON + timedelta(days=45))

    assert urgency(in_45_days, now=NOON, soon_days=30, tz=UTC) == Urgency.GREEN
    assert urgency(in_45_days, now=NOON, soon_days=60, tz=UTC) == Urgency.AMBER
