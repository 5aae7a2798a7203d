"""The calendar feed: a private address per user, RFC 5545 events and alarms, no secrets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from keyvault.feeds.calendar import calendar_feed_create
from keyvault.models import AuditAction, AuditEvent, CalendarFeed, Role
from keyvault.rotation.services import credential_revoke
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential

FEED_URL = re.compile(r"https?://[^\s<\"]+/calendar/([A-Za-z0-9_-]+)\.ics")


def _feed(client: Client, token: str) -> Calendar:
    response = client.get(reverse("keyvault:calendar_feed", kwargs={"token": token}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def test_the_page_shows_a_new_feed_address_once_and_audits_it(
    admin_client: Client, admin_user: Any
) -> None:
    page = admin_client.get(reverse("keyvault:calendar"))
    assert page.status_code == 200
    assert b"You have no calendar feed yet" in page.content

    made = admin_client.post(reverse("keyvault:calendar"))

    assert "no-store" in made["Cache-Control"]
    match = FEED_URL.search(made.content.decode())
    assert match is not None
    token = match.group(1)
    feed = CalendarFeed.objects.get(user=admin_user)
    assert token not in feed.token_hash and len(feed.token_hash) == 64
    event = AuditEvent.objects.get(action=AuditAction.CALENDAR_FEED_CHANGED)
    assert event.details == {"replaced": False}
    assert token not in str(event.details)
    again = admin_client.get(reverse("keyvault:calendar"))
    assert token.encode() not in again.content
    assert b"cannot be shown again" in again.content


def test_the_feed_parses_with_one_all_day_event_per_current_credential(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, token = make_credential(
        name="Atlassian — acme", owner="Dana Ops", expires_at=datetime(2026, 9, 1, 9, tzinfo=UTC)
    )
    revoked, _ = make_credential(name="Old — revoked")
    credential_revoke(credential=revoked, reason="gone", actor=admin_user, now=NOW)
    feed_token = calendar_feed_create(user=admin_user, now=NOW)

    response = Client().get(reverse("keyvault:calendar_feed", kwargs={"token": feed_token}))
    calendar = Calendar.from_ical(response.content)

    events = _events(calendar)
    assert list(events) == ["Atlassian — acme: credential expires"]
    event = events["Atlassian — acme: credential expires"]
    assert event["dtstart"].dt == date(2026, 9, 1)
    assert event["dtend"].dt == date(2026, 9, 2)
    assert event["uid"] == f"{credential.pk}@keyvault"
    rotate = f"/integrations/{credential.integration.pk}/rotate/"
    assert str(event["url"]).endswith(rotate)
    assert rotate in str(event["description"]) and "Dana Ops" in str(event["description"])
    assert calendar["version"] == "2.0"
    body = response.content.decode()
    assert token not in body and ATLASSIAN_URL not in body
    assert str(credential.fingerprint)[:16] not in body


def test_alarms_fall_at_local_midnight_of_each_threshold_across_a_dst_change(
    settings: Any, make_credential: MakeCredential, admin_user: Any
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    # 00:30 on 2 April in Berlin (summer time, UTC+2) is still 1 April in UTC.
    make_credential(
        name="Across DST",
        expires_at=datetime(2026, 4, 1, 22, 30, tzinfo=UTC),
        reminder_thresholds="14,7,0",
    )
    feed_token = calendar_feed_create(user=admin_user, now=NOW)

    event = _events(_feed(Client(), feed_token))["Across DST: credential expires"]

    assert event["dtstart"].dt == date(2026, 4, 2)  # the local expiry date, not UTC's
    triggers = sorted(alarm["trigger"].dt for alarm in event.walk("VALARM"))
    assert triggers == [
        # 19 and 26 March, 00:00 in winter time (UTC+1) ...
        datetime(2026, 3, 18, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 25, 23, 0, tzinfo=UTC),
        # ... 2 April, 00:00 in summer time (UTC+2): the clocks changed on 29 March.
        datetime(2026, 4, 1, 22, 0, tzinfo=UTC),
    ]
    assert "VALUE=DATE-TIME" in event.walk("VALARM")[0].to_ical().decode()
    assert str(event.walk("VALARM")[0]["description"]).startswith("Across DST")


def test_alarms_follow_the_default_thresholds_without_an_override(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    make_credential(name="Default", expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    feed_token = calendar_feed_create(user=admin_user, now=NOW)

    event = _events(_feed(Client(), feed_token))["Default: credential expires"]

    assert len(event.walk("VALARM")) == len({30, 14, 7, 3, 1, 0})


@pytest.mark.parametrize("token", ["wrong", "x" * 43, "a" * 500])
def test_a_wrong_feed_token_is_not_found(admin_user: Any, token: str) -> None:
    calendar_feed_create(user=admin_user, now=NOW)

    response = Client().get(reverse("keyvault:calendar_feed", kwargs={"token": token}))

    assert response.status_code == 404


def test_a_replaced_feed_token_is_not_found_and_the_new_one_works(
    admin_client: Client, admin_user: Any
) -> None:
    old = calendar_feed_create(user=admin_user, now=NOW)
    new = calendar_feed_create(user=admin_user, now=NOW)

    assert Client().get(reverse("keyvault:calendar_feed", kwargs={"token": old})).status_code == 404
    assert Client().get(reverse("keyvault:calendar_feed", kwargs={"token": new})).status_code == 200
    last = AuditEvent.objects.filter(action=AuditAction.CALENDAR_FEED_CHANGED).latest("seq")
    assert last.details == {"replaced": True}


def test_the_feed_of_an_inactive_user_or_one_without_a_role_is_not_found(
    admin_user: Any, auditor_user: Any
) -> None:
    admin_token = calendar_feed_create(user=admin_user, now=NOW)
    auditor_token = calendar_feed_create(user=auditor_user, now=NOW)
    feed = reverse("keyvault:calendar_feed", kwargs={"token": auditor_token})
    assert Client().get(feed).status_code == 200

    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])
    auditor_user.groups.remove(Group.objects.get(name=Role.AUDITOR))

    assert Client().get(feed).status_code == 404
    url = reverse("keyvault:calendar_feed", kwargs={"token": admin_token})
    assert Client().get(url).status_code == 404


def test_a_worst_case_expiry_is_marked_unconfirmed(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    make_credential(name="Legacy", expiry_unknown=True)
    make_credential(name="Known")
    feed_token = calendar_feed_create(user=admin_user, now=NOW)

    events = _events(_feed(Client(), feed_token))

    assert sorted(events) == [
        "Known: credential expires",
        "Legacy: credential expires (worst case, unconfirmed)",
    ]
    legacy = events["Legacy: credential expires (worst case, unconfirmed)"]
    assert legacy["dtstart"].dt == date(2027, 5, 1)
    assert "Worst case, unconfirmed" in str(legacy["description"])
    assert "Worst case" not in str(events["Known: credential expires"]["description"])
