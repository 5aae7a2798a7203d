"""The reminder policy: which thresholds are owed for a credential at ``now`` (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from alerts.policy import (
    DEFAULT_THRESHOLDS,
    DigestDue,
    Plan,
    audience_receives,
    channel_thresholds,
    crossed_thresholds,
    digest_due,
    digest_slot,
    reminder_plan,
    retry_delay,
    threshold_crossed_at,
    thresholds_for,
    week_of,
    window_days,
)
from keyvault.vault.validation import thresholds_parse

UTC_TZ = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def in_days(days: float, *, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


# (case, expires_at, last_recorded, thresholds, expected plan) with now=NOW in UTC
PLAN_CASES = [
    ("31 days left: nothing yet", in_days(31), None, DEFAULT_THRESHOLDS, Plan(None)),
    ("30 days left: the first reminder", in_days(30), None, DEFAULT_THRESHOLDS, Plan(30)),
    ("30 days, late in the day", in_days(30, hours=14), None, DEFAULT_THRESHOLDS, Plan(30)),
    ("29 days, 30 already recorded", in_days(29), 30, DEFAULT_THRESHOLDS, Plan(None)),
    ("14 days after 30 was sent", in_days(14), 30, DEFAULT_THRESHOLDS, Plan(14)),
    ("8 days: nothing new after 14", in_days(8), 14, DEFAULT_THRESHOLDS, Plan(None)),
    (
        "pasted late with 5 days left: 7 sent, 30 and 14 skipped",
        in_days(5),
        None,
        DEFAULT_THRESHOLDS,
        Plan(7, (30, 14)),
    ),
    (
        "a week of downtime from 10 to 3 days: 3 sent, 7 skipped",
        in_days(3),
        14,
        DEFAULT_THRESHOLDS,
        Plan(3, (7,)),
    ),
    ("expiry day", in_days(0, hours=5), 1, DEFAULT_THRESHOLDS, Plan(0)),
    ("expiry passed earlier today", in_days(0, hours=-2), 1, DEFAULT_THRESHOLDS, Plan(0)),
    ("first day overdue", in_days(-1), 0, DEFAULT_THRESHOLDS, Plan(-1)),
    ("fifth day overdue: daily", in_days(-5), -4, DEFAULT_THRESHOLDS, Plan(-5)),
    ("same overdue day twice: nothing", in_days(-5), -5, DEFAULT_THRESHOLDS, Plan(None)),
    (
        "overdue catch-up after a week down",
        in_days(-10),
        -3,
        DEFAULT_THRESHOLDS,
        Plan(-10, (-4, -5, -6, -7, -8, -9)),
    ),
    (
        "pasted already expired two days ago",
        in_days(-2),
        None,
        DEFAULT_THRESHOLDS,
        Plan(-2, (30, 14, 7, 3, 1, 0, -1)),
    ),
    ("override 10,2: 9 days left", in_days(9), None, (10, 2), Plan(10)),
    ("override 10,2: 2 days left", in_days(2), 10, (10, 2), Plan(2)),
    ("override 10,2: expiry day is not a threshold", in_days(0), 2, (10, 2), Plan(None)),
    ("override 10,2: still daily once overdue", in_days(-1), 2, (10, 2), Plan(-1)),
    ("override 60: the window follows it", in_days(45), None, (60, 7), Plan(60)),
    (
        "a threshold added after the fact is moot",
        in_days(10),
        14,
        (30, 20, 14, 7),
        Plan(None),
    ),
]


@pytest.mark.parametrize(
    ("expires_at", "last_recorded", "thresholds", "expected"),
    [case[1:] for case in PLAN_CASES],
    ids=[case[0] for case in PLAN_CASES],
)
def test_reminder_plan(
    expires_at: datetime, last_recorded: int | None, thresholds: tuple[int, ...], expected: Plan
) -> None:
    plan = reminder_plan(
        expires_at=expires_at,
        now=NOW,
        thresholds=thresholds,
        last_recorded=last_recorded,
        tz=UTC_TZ,
    )
    assert plan == expected


def test_plan_lists_skipped_then_sent_thresholds() -> None:
    assert Plan(7, (30, 14)).thresholds == (30, 14, 7)
    assert Plan(None).thresholds == ()


# (case, tz, now, expires_at, last recorded, expected plan): calendar days in local time
TZ_CASES = [
    (
        "UTC: 7 calendar days although 6 days 23 hours",
        UTC_TZ,
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 22, 30, tzinfo=UTC),
        None,
        Plan(7, (30, 14)),
    ),
    (
        "Berlin: still 1 March locally, expiry on 9 March locally: 8 days, nothing new",
        BERLIN,
        datetime(2026, 3, 1, 22, 30, tzinfo=UTC),  # 23:30 CET on 1 March
        datetime(2026, 3, 8, 23, 30, tzinfo=UTC),  # 00:30 CET on 9 March
        14,
        Plan(None),
    ),
    (
        "UTC, same instants: 7 days",
        UTC_TZ,
        datetime(2026, 3, 1, 22, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 23, 30, tzinfo=UTC),
        14,
        Plan(7),
    ),
    (
        "Berlin, spring forward: 7 calendar days are 6 days 23 hours",
        BERLIN,
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # 00:00 CET on 29 March (DST day)
        datetime(2026, 4, 4, 22, 30, tzinfo=UTC),  # 00:30 CEST on 5 April
        14,
        Plan(7),
    ),
    (
        "Berlin, one minute before that local midnight: 8 days",
        BERLIN,
        datetime(2026, 3, 28, 22, 59, tzinfo=UTC),
        datetime(2026, 4, 4, 22, 30, tzinfo=UTC),
        14,
        Plan(None),
    ),
    (
        "Berlin, fall back: the 25-hour day still counts once",
        BERLIN,
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # 00:00 CEST on 25 October
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # 00:30 CET on 26 October
        3,
        Plan(1),
    ),
    (
        "New York: 03:00 UTC on 8 March is still 7 March, the expiry day, locally",
        NEW_YORK,
        datetime(2026, 3, 7, 15, 0, tzinfo=UTC),  # 10:00 EST on 7 March
        datetime(2026, 3, 8, 3, 0, tzinfo=UTC),  # 22:00 EST on 7 March
        1,
        Plan(0),
    ),
    (
        "...while in UTC the expiry day is tomorrow",
        UTC_TZ,
        datetime(2026, 3, 7, 15, 0, tzinfo=UTC),
        datetime(2026, 3, 8, 3, 0, tzinfo=UTC),
        1,
        Plan(None),
    ),
]


@pytest.mark.parametrize(
    ("tz", "now", "expires_at", "last_recorded", "expected"),
    [case[1:] for case in TZ_CASES],
    ids=[case[0] for case in TZ_CASES],
)
def test_days_are_local_calendar_days(
    tz: ZoneInfo, now: datetime, expires_at: datetime, last_recorded: int | None, expected: Plan
) -> None:
    plan = reminder_plan(
        expires_at=expires_at,
        now=now,
        thresholds=DEFAULT_THRESHOLDS,
        last_recorded=last_recorded,
        tz=tz,
    )
    assert plan == expected


def test_plan_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        reminder_plan(
            expires_at=datetime(2026, 3, 8),
            now=NOW,
            thresholds=DEFAULT_THRESHOLDS,
            last_recorded=None,
            tz=UTC_TZ,
        )


@pytest.mark.parametrize(
    ("expires_at", "threshold", "tz", "expected_utc"),
    [
        # seven days before 5 April (local) starts at local midnight on 29 March, a DST day
        (datetime(2026, 4, 4, 22, 30, tzinfo=UTC), 7, BERLIN, datetime(2026, 3, 28, 23, 0)),
        (datetime(2026, 4, 4, 22, 30, tzinfo=UTC), 0, BERLIN, datetime(2026, 4, 4, 22, 0)),
        (datetime(2026, 4, 4, 22, 30, tzinfo=UTC), -1, BERLIN, datetime(2026, 4, 5, 22, 0)),
        (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), 30, UTC_TZ, datetime(2026, 2, 6, 0, 0)),
        # Chile skips midnight on 6 September 2026: the day starts at 01:00 (-03)
        (datetime(2026, 9, 7, 12, 0, tzinfo=UTC), 1, SANTIAGO, datetime(2026, 9, 6, 4, 0)),
    ],
)
def test_threshold_crossed_at_is_local_midnight(
    expires_at: datetime, threshold: int, tz: ZoneInfo, expected_utc: datetime
) -> None:
    crossed = threshold_crossed_at(expires_at=expires_at, threshold=threshold, tz=tz)
    assert crossed.astimezone(UTC) == expected_utc.replace(tzinfo=UTC)
    # and the policy agrees: crossed at that instant, not one second before (in absolute time:
    # arithmetic on a local datetime is wall-clock arithmetic)
    before = reminder_plan(
        expires_at=expires_at,
        now=crossed.astimezone(UTC) - timedelta(seconds=1),
        thresholds=(threshold,) if threshold >= 0 else (0,),
        last_recorded=None,
        tz=tz,
    )
    at = reminder_plan(
        expires_at=expires_at,
        now=crossed,
        thresholds=(threshold,) if threshold >= 0 else (0,),
        last_recorded=None,
        tz=tz,
    )
    assert before.send != threshold
    assert at.send == threshold


def test_crossed_thresholds_adds_one_overdue_threshold_per_day() -> None:
    assert crossed_thresholds(days=3, thresholds=(30, 14, 7, 3, 1, 0)) == [30, 14, 7, 3]
    assert crossed_thresholds(days=-3, thresholds=(7, 0)) == [7, 0, -1, -2, -3]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("30,14,7,3,1,0", (30, 14, 7, 3, 1, 0)),
        (" 7, 30 ,14 ", (30, 14, 7)),
        ("7,7,30", (30, 7)),
        ("0", (0,)),
        ("365", (365,)),
        ([1, 60], (60, 1)),
    ],
)
def test_thresholds_parse_accepts(raw: str | list[int], expected: tuple[int, ...]) -> None:
    assert thresholds_parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("30,,7", "empty_entry"),
        ("30,", "empty_entry"),
        ("seven", "not_a_number"),
        ("-1", "not_a_number"),
        ("7.5", "not_a_number"),
        ("366", "out_of_range"),
        (",".join(str(n) for n in range(31)), "too_many"),
    ],
)
def test_thresholds_parse_refuses_with_a_reason(raw: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        thresholds_parse(raw)
    assert caught.value.code == code
    assert caught.value.messages[0]


def test_invalid_stored_override_falls_back_to_the_default() -> None:
    assert thresholds_for(override="", default=(7, 30)) == (30, 7)
    assert thresholds_for(override="10, 2", default=(7, 30)) == (10, 2)
    assert thresholds_for(override="ten", default=(7, 30)) == (30, 7)


def test_window_covers_the_largest_threshold_with_margin() -> None:
    assert window_days(DEFAULT_THRESHOLDS) == 32
    assert window_days([60, 7]) == 62


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [
        (1, None, 60),
        (2, None, 120),
        (3, None, 240),
        (7, None, 3600),  # capped
        (20, None, 3600),
        (1, 2.0, 60),  # backoff longer than Retry-After
        (1, 300.0, 300),  # Retry-After honoured
        (1, 99999.0, 3600),  # ...up to the cap
    ],
)
def test_retry_delay_backs_off_and_honours_retry_after(
    attempts: int, retry_after: float | None, expected: float
) -> None:
    assert retry_delay(attempts=attempts, retry_after=retry_after, base=60, cap=3600) == expected


def test_reminder_settings_are_checked(settings: Any) -> None:
    from alerts.checks import reminder_settings_check

    assert reminder_settings_check(None) == []
    settings.KEYVAULT_REMINDER_THRESHOLDS = (30, 400)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60}
    errors = {error.id: error.msg for error in reminder_settings_check(None)}
    assert set(errors) == {"alerts.E001", "alerts.E004"}
    assert "400 days is out of range" in errors["alerts.E001"]


def test_a_requeue_time_shorter_than_a_scan_period_is_refused(settings: Any) -> None:
    from alerts.checks import reminder_settings_check

    settings.KEYVAULT_REMINDER_REQUEUE_SECONDS = settings.KEYVAULT_SCAN_INTERVAL_SECONDS - 1

    assert [error.id for error in reminder_settings_check(None)] == ["alerts.E005"]


# --- escalation: audiences per threshold ------------------------------------------------------

#: The audiences the README suggests: the owners' channel gets everything, a team channel
#: joins at 7 days, a default channel for admins (or everyone) at 1 day.
OWNER, TEAM, ADMINS = None, 7, 1


def test_a_channel_without_escalation_receives_every_threshold() -> None:
    assert channel_thresholds(thresholds=DEFAULT_THRESHOLDS, escalate_from=None) == (
        30, 14, 7, 3, 1, 0,
    )  # fmt: skip


def test_a_channel_escalated_from_seven_days_receives_seven_three_one_and_the_expiry_day() -> None:
    assert channel_thresholds(thresholds=DEFAULT_THRESHOLDS, escalate_from=7) == (7, 3, 1, 0)


def test_escalation_from_a_day_between_thresholds_starts_at_the_next_one_below() -> None:
    assert channel_thresholds(thresholds=(30, 14, 7, 3, 1, 0), escalate_from=10) == (7, 3, 1, 0)
    assert channel_thresholds(thresholds=(60, 10), escalate_from=7) == ()


@pytest.mark.parametrize(
    ("threshold", "owner", "team", "admins"),
    [
        (30, True, False, False),
        (14, True, False, False),
        (7, True, True, False),
        (3, True, True, False),
        (1, True, True, True),
        (0, True, True, True),
        (-1, True, True, True),  # every day while expired
        (-40, True, True, True),
    ],
)
def test_the_audience_widens_as_the_expiry_date_nears(
    threshold: int, owner: bool, team: bool, admins: bool
) -> None:
    received = [
        audience_receives(threshold=threshold, escalate_from=escalate_from)
        for escalate_from in (OWNER, TEAM, ADMINS)
    ]
    assert received == [owner, team, admins]


def test_an_escalated_channel_is_sent_only_the_most_urgent_of_its_own_thresholds() -> None:
    # Pasted with 5 days left: the team channel's first reminder is its 7-day one, nothing of
    # the owner's 30 and 14 is recorded for it; the admins' channel owes nothing yet.
    expires_at = NOW + timedelta(days=5)
    team = channel_thresholds(thresholds=DEFAULT_THRESHOLDS, escalate_from=TEAM)
    admins = channel_thresholds(thresholds=DEFAULT_THRESHOLDS, escalate_from=ADMINS)

    plan = reminder_plan(
        expires_at=expires_at, now=NOW, thresholds=team, last_recorded=None, tz=UTC_TZ
    )
    assert plan == Plan(send=7)
    assert reminder_plan(
        expires_at=expires_at, now=NOW, thresholds=admins, last_recorded=None, tz=UTC_TZ
    ) == Plan(None)


def test_an_admins_channel_receives_the_daily_overdue_reminders() -> None:
    admins = channel_thresholds(thresholds=DEFAULT_THRESHOLDS, escalate_from=ADMINS)
    plan = reminder_plan(
        expires_at=NOW - timedelta(days=2), now=NOW, thresholds=admins, last_recorded=-1, tz=UTC_TZ
    )
    assert plan == Plan(send=-2)


# --- weekly digest: when it is due ------------------------------------------------------------

MONDAY, WEDNESDAY, SUNDAY = 0, 2, 6
DAY = timedelta(hours=24)


def due(*, now: datetime, weekday: int | None = MONDAY, hour: int = 9, last_week: Any = None,
        tz: Any = UTC_TZ, catch_up: timedelta = DAY) -> DigestDue | None:  # fmt: skip
    return digest_due(
        weekday=weekday, hour=hour, now=now, tz=tz, last_week=last_week, catch_up=catch_up
    )


def test_a_channel_without_a_digest_day_is_never_owed_one() -> None:
    assert due(now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), weekday=None) is None


def test_the_digest_is_owed_from_its_hour_on_its_day() -> None:
    monday_nine = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 2 March 2026 is a Monday

    assert due(now=monday_nine - timedelta(minutes=1), last_week=week_of(monday_nine.date()
               - timedelta(days=7))) is None  # fmt: skip
    assert due(now=monday_nine) == DigestDue(week=monday_nine.date(), slot=monday_nine)
    assert due(now=monday_nine + timedelta(hours=5)) == DigestDue(
        week=monday_nine.date(), slot=monday_nine
    )


def test_the_digest_of_a_week_already_recorded_is_not_owed_again() -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert due(now=monday + timedelta(hours=1), last_week=monday.date()) is None
    next_monday = monday + timedelta(days=7)
    assert due(now=next_monday, last_week=monday.date()) == DigestDue(
        week=next_monday.date(), slot=next_monday
    )


def test_a_week_runs_from_monday_so_a_sunday_digest_belongs_to_the_week_it_ends() -> None:
    sunday_night = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert week_of(sunday_night.date()) == datetime(2026, 3, 2).date()
    assert due(now=sunday_night, weekday=SUNDAY, hour=23) == DigestDue(
        week=datetime(2026, 3, 2).date(), slot=sunday_night
    )
    # An hour later it is Monday: a new week, but Sunday's slot is still last week's.
    assert due(now=sunday_night + timedelta(hours=1), weekday=SUNDAY, hour=23,
               last_week=datetime(2026, 3, 2).date()) is None  # fmt: skip


def test_moving_the_digest_day_within_a_week_sends_no_second_digest_that_week() -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    wednesday = monday + timedelta(days=2)
    assert due(now=wednesday, weekday=WEDNESDAY, last_week=monday.date()) is None


def test_a_scheduler_down_over_the_digest_hour_sends_it_late_once() -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    back_up = monday + timedelta(hours=20)

    assert due(now=back_up, last_week=datetime(2026, 2, 23).date()) == DigestDue(
        week=monday.date(), slot=monday
    )
    assert due(now=back_up + timedelta(minutes=15), last_week=monday.date()) is None


def test_a_scheduler_down_longer_than_the_catch_up_skips_that_week_not_the_next() -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    last_week = datetime(2026, 2, 23).date()

    assert due(now=monday + timedelta(days=3), last_week=last_week) is None
    next_monday = monday + timedelta(days=7)
    assert due(now=next_monday, last_week=last_week) == DigestDue(
        week=next_monday.date(), slot=next_monday
    )


def test_the_digest_hour_is_local_time_across_the_spring_dst_change() -> None:
    # Europe/Berlin moves to summer time on Sunday 29 March 2026: Monday 09:00 local is
    # 08:00 UTC the week before and 07:00 UTC the week after.
    before = digest_slot(weekday=MONDAY, hour=9, now=datetime(2026, 3, 24, tzinfo=UTC), tz=BERLIN)
    after = digest_slot(weekday=MONDAY, hour=9, now=datetime(2026, 3, 31, tzinfo=UTC), tz=BERLIN)

    assert before.astimezone(UTC) == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=7, hours=-1)
    assert due(now=datetime(2026, 3, 30, 6, 59, tzinfo=UTC), tz=BERLIN,
               last_week=datetime(2026, 3, 23).date()) is None  # fmt: skip
    assert due(now=datetime(2026, 3, 30, 7, 0, tzinfo=UTC), tz=BERLIN,
               last_week=datetime(2026, 3, 23).date()) == DigestDue(
        week=datetime(2026, 3, 30).date(), slot=after
    )  # fmt: skip


def test_a_digest_hour_skipped_by_the_dst_change_goes_out_at_the_next_real_instant() -> None:
    # 02:00 does not exist in Berlin on 29 March 2026: the clock jumps from 02:00 to 03:00.
    slot = digest_slot(weekday=SUNDAY, hour=2, now=datetime(2026, 3, 29, 12, tzinfo=UTC), tz=BERLIN)
    assert slot.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert (slot.hour, slot.utcoffset()) == (3, timedelta(hours=2))


def test_a_digest_hour_that_happens_twice_in_autumn_goes_out_at_the_first() -> None:
    # 02:00-03:00 happens twice in Berlin on 25 October 2026; one digest, at the first 02:00.
    slot = digest_slot(
        weekday=SUNDAY, hour=2, now=datetime(2026, 10, 25, 12, tzinfo=UTC), tz=BERLIN
    )
    assert slot.astimezone(UTC) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert due(now=datetime(2026, 10, 25, 1, 30, tzinfo=UTC), weekday=SUNDAY, hour=2, tz=BERLIN,
               last_week=datetime(2026, 10, 19).date()) is None  # fmt: skip


def test_digest_slot_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError):
        digest_slot(weekday=MONDAY, hour=9, now=datetime(2026, 3, 2, 9), tz=UTC_TZ)
