"""Reminder plans: the scan skips a credential until the next moment something can be owed for
it, and looks again as soon as a change could make a reminder due sooner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts import policy
from alerts.channels import ChannelInput, channel_create
from alerts.models import Reminder, ReminderPlan, ReminderStatus
from alerts.scan import reminders_scan
from keyvault.models import Credential
from keyvault.vault.services import integration_update
from tests.alerts.outbox_helpers import DueFactory, due_credential, email_channel, no_channels
from tests.factories import NOW

__all__ = ["due_credential", "email_channel", "no_channels"]

BERLIN = ZoneInfo("Europe/Berlin")
THRESHOLDS = (30, 14, 7, 3, 1, 0)


@pytest.mark.parametrize(
    ("days_left", "next_threshold"),
    [(20, 14), (14, 7), (2, 1), (0, -1), (-3, -4), (45, 30)],
)
def test_the_next_crossing_is_the_next_threshold_or_the_next_overdue_day(
    days_left: int, next_threshold: int
) -> None:
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    expires_at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC) + timedelta(days=days_left)

    crossing = policy.next_crossing_at(
        expires_at=expires_at, now=now, thresholds=THRESHOLDS, tz=BERLIN
    )

    assert crossing == policy.threshold_crossed_at(
        expires_at=expires_at, threshold=next_threshold, tz=BERLIN
    )
    assert crossing > now


def test_a_steady_scan_skips_a_credential_until_its_next_threshold(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=20)

    first = reminders_scan(now=NOW, enqueue=False)
    steady = reminders_scan(now=NOW + timedelta(hours=6), enqueue=False)
    crossing = ReminderPlan.objects.get(credential=credential).next_at
    at_crossing = reminders_scan(now=crossing, enqueue=False)

    assert (first.candidates, first.created) == (1, 1)
    assert (steady.candidates, steady.created) == (0, 0)
    assert (at_crossing.candidates, at_crossing.created) == (1, 1)
    assert set(Reminder.objects.values_list("threshold", "status")) == {
        (30, ReminderStatus.SKIPPED),  # never delivered, and a more urgent one is owed
        (14, ReminderStatus.PENDING),
    }


def test_editing_an_integration_makes_the_next_scan_look_at_it_again(
    due_credential: DueFactory, email_channel: Any, admin_user: Any
) -> None:
    credential, _ = due_credential(days=20)
    reminders_scan(now=NOW, enqueue=False)

    integration_update(
        integration=credential.integration,
        fields={"reminder_thresholds": "21,5"},
        actor=admin_user,
        now=NOW,
    )
    later = reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False)

    assert (later.candidates, later.created) == (1, 1)
    assert Reminder.objects.filter(threshold=21).exists()


def test_a_new_channel_makes_the_next_scan_look_at_every_credential_again(
    due_credential: DueFactory, email_channel: Any, admin_user: Any
) -> None:
    due_credential(days=20)
    due_credential(days=5)
    reminders_scan(now=NOW, enqueue=False)

    channel = channel_create(
        kind="email",
        data=ChannelInput(name="team", is_default=True, email_recipients="team@example.com"),
        actor=admin_user,
        now=NOW,
    )
    later = reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False)

    assert (later.candidates, later.created) == (2, 2)
    assert Reminder.objects.filter(channel=channel, status=ReminderStatus.PENDING).count() == 2


def test_a_changed_expiry_is_looked_at_again_even_without_a_signal(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=20)
    reminders_scan(now=NOW, enqueue=False)

    Credential.objects.filter(pk=credential.pk).update(expires_at=NOW + timedelta(days=2))
    later = reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False)

    assert (later.candidates, later.created) == (1, 1)
    assert Reminder.objects.get(status=ReminderStatus.PENDING).threshold == 3


def test_new_default_thresholds_are_looked_at_after_a_restart(
    due_credential: DueFactory, email_channel: Any, settings: Any
) -> None:
    due_credential(days=20)
    reminders_scan(now=NOW, enqueue=False)

    settings.KEYVAULT_REMINDER_THRESHOLDS = [30, 21, 7]
    later = reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False)

    assert (later.candidates, later.created) == (1, 1)
