"""Which reminders are owed for one credential at ``now``. Pure: no database, no clock.

Vocabulary:

- a *threshold* is a number of days before expiry (``30`` = thirty days before; ``0`` = the
  expiry day). Overdue reminders use negative thresholds: ``-1`` is the first day after the
  expiry day, ``-2`` the second, and so on, one a day until the credential is rotated or revoked.
- days are *calendar days in local time* (``TIME_ZONE``, see
  ``keyvault.vault.expiry.days_left``): the seven-day reminder is owed from local midnight of
  the day seven days before the expiry date, whatever the hour of expiry, so people get it on
  the morning of that day.
- a threshold is *crossed* once ``days_left <= threshold``.

A channel's *audience* is the thresholds it receives: ``escalate_from`` days before expiry and
closer, plus every overdue one (``channel_thresholds``), so the audience widens as the date nears.
A weekly *digest* is owed from its local slot (weekday and hour) once per week
(``digest_slot``, ``digest_due``).

When several thresholds were crossed since the last one recorded (a credential pasted with five
days left, a scheduler that was down for a week), only the most urgent is sent; the others are
recorded as skipped so the history says why they never went out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.core.exceptions import ValidationError

from keyvault.vault.expiry import days_left, local_midnight
from keyvault.vault.validation import thresholds_parse

DEFAULT_THRESHOLDS: tuple[int, ...] = (30, 14, 7, 3, 1, 0)


def thresholds_for(*, override: str, default: Sequence[int]) -> tuple[int, ...]:
    """An integration's thresholds: its override when set and valid, else ``default``.

    An invalid override already stored (validation is the form's job) falls back to the
    default rather than silencing the integration's reminders.
    """
    if override.strip():
        try:
            return thresholds_parse(override)
        except ValidationError:
            pass
    return tuple(sorted(set(default), reverse=True))


@dataclass(frozen=True)
class Plan:
    """What one (credential, channel) pair is owed now.

    ``send`` is the threshold to deliver (None when nothing new was crossed); ``skip`` the other
    newly crossed thresholds, recorded as skipped, most distant first.
    """

    send: int | None
    skip: tuple[int, ...] = ()

    @property
    def thresholds(self) -> tuple[int, ...]:
        return (*self.skip, self.send) if self.send is not None else ()


NOTHING = Plan(None)


def crossed_thresholds(*, days: int, thresholds: Sequence[int]) -> list[int]:
    """Every threshold crossed when ``days`` calendar days are left, most distant first.

    Includes the daily overdue thresholds ``-1 .. days`` once the expiry day has passed.
    """
    crossed = sorted((t for t in set(thresholds) if t >= days), reverse=True)
    if days < 0:
        crossed.extend(range(-1, days - 1, -1))
    return crossed


def reminder_plan(
    *,
    expires_at: datetime,
    now: datetime,
    thresholds: Sequence[int],
    last_recorded: int | None,
    tz: tzinfo,
) -> Plan:
    """Which thresholds to record for one (credential, channel) pair at ``now``.

    ``last_recorded`` is the most urgent (smallest) threshold already recorded for the pair, in
    any status, or None. Only thresholds more urgent than it are new: the rest were dealt with
    (sent, skipped) or were added to the configuration after the fact, when they are moot.
    Of the new ones the most urgent is sent and the others are skipped.
    """
    if now.tzinfo is None or expires_at.tzinfo is None:
        raise ValueError("reminder_plan needs timezone-aware datetimes")
    crossed = crossed_thresholds(days=days_left(expires_at, now=now, tz=tz), thresholds=thresholds)
    new = [t for t in crossed if last_recorded is None or t < last_recorded]
    if not new:
        return NOTHING
    return Plan(send=new[-1], skip=tuple(new[:-1]))


def threshold_crossed_at(*, expires_at: datetime, threshold: int, tz: tzinfo) -> datetime:
    """When ``threshold`` is crossed: local midnight starting the day ``threshold`` days before
    the local expiry date (for overdue thresholds, after it). Aware, in ``tz``."""
    day: date = expires_at.astimezone(tz).date() - timedelta(days=threshold)
    return local_midnight(day, tz)


def next_crossing_at(
    *, expires_at: datetime, now: datetime, thresholds: Sequence[int], tz: tzinfo
) -> datetime:
    """The next moment after ``now`` at which a threshold of ``thresholds`` — or, from the
    expiry day on, the next overdue day — is crossed: until then ``reminder_plan`` owes nothing
    new for any audience made of these thresholds."""
    days = days_left(expires_at, now=now, tz=tz)
    overdue = min(days - 1, -1)
    ahead = [t for t in thresholds if t < days]
    return threshold_crossed_at(expires_at=expires_at, threshold=max([*ahead, overdue]), tz=tz)


def window_days(thresholds: Iterable[int]) -> int:
    """How far ahead of expiry a scan must look for these thresholds, in absolute days.

    Two days of margin over the largest threshold cover the local-calendar rounding (now late
    in a local day) and a 25-hour day at a DST change; the policy decides exactly.
    """
    return max(thresholds, default=0) + 2


def retry_delay(*, attempts: int, retry_after: float | None, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number ``attempts`` (1 = the first).

    Exponential backoff ``base * 2**(attempts - 1)``; never sooner than the provider's
    ``retry_after``; never longer than ``cap`` (the broker must hold a retry that long, see
    the visibility timeout in settings).
    """
    backoff = base * 2 ** max(attempts - 1, 0)
    return float(min(cap, max(backoff, retry_after or 0.0)))


# --- escalation: who receives which threshold ------------------------------------------------


def channel_thresholds(*, thresholds: Sequence[int], escalate_from: int | None) -> tuple[int, ...]:
    """The thresholds a channel receives: those at most ``escalate_from`` days before expiry
    (empty ``escalate_from``: all of them), most distant first.

    Overdue reminders (negative thresholds) are below every ``escalate_from``, so a channel
    that receives any reminder receives one a day while the credential is expired. A channel
    escalated from 1 day gets the 1-day and expiry-day reminders, then the overdue ones.
    """
    chosen = (
        set(thresholds) if escalate_from is None else {t for t in thresholds if t <= escalate_from}
    )
    return tuple(sorted(chosen, reverse=True))


def audience_receives(*, threshold: int, escalate_from: int | None) -> bool:
    """Whether a channel escalated from ``escalate_from`` days receives ``threshold``."""
    return escalate_from is None or threshold <= escalate_from


# --- weekly digest: when it is due -----------------------------------------------------------


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: the key that makes a digest once a week per channel."""
    return day - timedelta(days=day.weekday())


def digest_slot(*, weekday: int, hour: int, now: datetime, tz: tzinfo) -> datetime:
    """The latest scheduled digest moment at or before ``now``: ``hour``:00 local time on
    ``weekday`` (0 = Monday), in ``tz``. Aware, in ``tz``.

    A local time that does not exist (skipped by a spring DST change) reads with the offset
    from before the change and becomes the next real instant (02:00 -> 03:00 local); a local
    time that happens twice (autumn) is the first of them.
    """
    if now.tzinfo is None:
        raise ValueError("digest_slot needs a timezone-aware datetime")
    local_today = now.astimezone(tz).date()
    day = local_today - timedelta(days=(local_today.weekday() - weekday) % 7)
    for candidate_day in (day, day - timedelta(days=7)):
        slot = datetime.combine(candidate_day, time(hour)).replace(tzinfo=tz)
        slot = slot.astimezone(UTC).astimezone(tz)
        if slot <= now:
            return slot
    raise AssertionError("unreachable: last week's slot is always in the past")


@dataclass(frozen=True)
class DigestDue:
    """A digest owed: its ``week`` (the Monday, local date) and its scheduled ``slot``."""

    week: date
    slot: datetime


def digest_due(
    *,
    weekday: int | None,
    hour: int,
    now: datetime,
    tz: tzinfo,
    last_week: date | None,
    catch_up: timedelta,
) -> DigestDue | None:
    """The digest a channel is owed at ``now`` (its week and slot), or None.

    ``weekday`` None means the channel has no digest. ``last_week`` is the latest week already
    recorded for the channel (in any status). The digest of the latest slot is owed when that
    week has not been recorded and the slot is at most ``catch_up`` old: a scheduler down for
    a few hours sends it late, once; one down for longer skips that week (the next digest is
    due soon and says the same, newer things) rather than sending a stale one.
    """
    if weekday is None:
        return None
    slot = digest_slot(weekday=weekday, hour=hour, now=now, tz=tz)
    week = week_of(slot.astimezone(tz).date())
    if last_week is not None and last_week >= week:
        return None
    if now - slot > catch_up:
        return None
    return DigestDue(week=week, slot=slot)
