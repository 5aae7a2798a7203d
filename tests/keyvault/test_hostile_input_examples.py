"""One example for each input that used to answer 500 (or left a trace when refused).

The property-based sweep (``test_hostile_input``) finds new cases; these pin the ones found so
each fix has a test that fails without it.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Integration
from keyvault.vault.validation import thresholds_parse
from tests.factories import ATLASSIAN_URL, NOW, PASSWORD, new_token

CREATE_URL = reverse("keyvault:integration_create")
AUDIT_URL = reverse("keyvault:audit_log")
EXPORT_URL = reverse("keyvault:audit_export")
LOGIN_URL = reverse("account_login")


def _paste(**fields: str) -> dict[str, str]:
    return {
        "name": "Atlassian — hostile",
        "provider": "atlassian",
        "identity_provider": "okta",
        "scim_url": ATLASSIAN_URL,
        "token": new_token(),
        "issued_on": NOW.date().isoformat(),
        **fields,
    }


def _field_errors(response: Any, field: str) -> list[str]:
    assert response.status_code == 200
    return list(response.context["form"].errors.get(field, []))


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("days", ["²", "30,①,7", "¹⁴", "٣", "７"])  # noqa: RUF001
def test_unicode_digits_in_reminder_days_are_a_field_error(admin_client: Client, days: str) -> None:
    response = admin_client.post(CREATE_URL, _paste(reminder_thresholds=days))
    assert _field_errors(response, "reminder_thresholds")
    assert "is not a whole number of days" in response.content.decode()
    assert not Integration.objects.exists()


def test_unicode_digits_in_reminder_days_are_a_field_error_when_editing(
    admin_client: Client, integration: Integration
) -> None:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    data = {"name": integration.name, "provider": "atlassian", "identity_provider": "okta"}
    response = admin_client.post(url, {**data, "reminder_thresholds": "14,²"})
    assert _field_errors(response, "reminder_thresholds")
    integration.refresh_from_db()
    assert integration.reminder_thresholds == ""


def test_a_huge_number_of_reminder_days_is_out_of_range() -> None:
    with pytest.raises(Exception, match="out of range") as caught:
        thresholds_parse("9" * 5000)
    assert "9" * 21 not in str(caught.value)


@pytest.mark.parametrize("cursor", ["²", "①", "٣", "9" * 19, "-1", "1e3"])
@pytest.mark.parametrize("name", ["before", "after"])
def test_an_audit_page_cursor_that_is_not_ascii_digits_is_ignored_with_a_message(
    auditor_client: Client, name: str, cursor: str
) -> None:
    response = auditor_client.get(AUDIT_URL, {name: cursor})
    assert response.status_code == 200
    assert _messages(response) == ["That page link is not valid; showing the newest events."]


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_audit_filter_date_at_the_edge_of_the_calendar_is_a_field_error(
    auditor_client: Client, field: str, day: str
) -> None:
    response = auditor_client.get(AUDIT_URL, {field: day})
    assert _field_errors(response, field) == ["Enter a date between 1900-01-01 and 9998-12-31."]


def test_the_first_day_of_year_one_is_refused_in_a_time_zone_east_of_utc(
    auditor_client: Client, settings: Any
) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"  # its midnight of 1 January, year 1, is before year 1 in UTC
    response = auditor_client.get(AUDIT_URL, {"date_from": "0001-01-01"})
    assert _field_errors(response, "date_from")


def test_exporting_up_to_the_last_day_of_year_9999_is_refused_and_leaves_no_event(
    auditor_client: Client,
) -> None:
    response = auditor_client.post(EXPORT_URL, {"format": "csv", "date_to": "9999-12-31"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


@pytest.mark.parametrize("field", ["issued_on", "expires_on"])
def test_a_paste_dated_at_the_edge_of_the_calendar_is_a_field_error(
    admin_client: Client, field: str
) -> None:
    response = admin_client.post(CREATE_URL, _paste(**{field: "9999-12-31"}))
    assert _field_errors(response, field)
    assert not Integration.objects.exists()


# --- control characters and NUL -------------------------------------------------------------


@pytest.mark.parametrize("q", ["a\x00b", "\x00", "x\x1by"])
def test_control_characters_in_the_dashboard_search_are_ignored_with_a_message(
    admin_client: Client, integration: Integration, q: str
) -> None:
    response = admin_client.get(reverse("keyvault:dashboard"), {"q": q})
    assert response.status_code == 200
    assert _messages(response) == ["The search contained control characters and was ignored."]
    assert integration.name in response.content.decode()  # the unfiltered list


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Acme\x07"), ("owner", "ops\x1b[31m"), ("notes", "see\x00wiki"), ("notes", "a\x0cb")],
)
def test_control_characters_in_integration_fields_are_a_field_error(
    admin_client: Client, field: str, value: str
) -> None:
    response = admin_client.post(CREATE_URL, _paste(**{field: value}))
    assert _field_errors(response, field)
    assert not Integration.objects.exists()


def test_line_breaks_and_tabs_in_notes_are_kept(admin_client: Client) -> None:
    response = admin_client.post(CREATE_URL, _paste(notes="Okta app:\n\tprovisioning tab"))
    assert response.status_code == 302
    assert Integration.objects.get().notes == "Okta app:\n\tprovisioning tab"


def test_control_characters_in_a_revoke_reason_are_a_field_error(
    admin_client: Client, integration: Integration
) -> None:
    current = integration.credentials.get()
    url = reverse("keyvault:credential_revoke", kwargs={"integration_id": integration.pk})
    response = admin_client.post(url, {"credential": str(current.pk), "reason": "leak\x08ed"})
    assert _field_errors(response, "reason")
    current.refresh_from_db()
    assert current.state == "current"


def test_control_characters_in_a_channel_name_are_a_field_error(admin_client: Client) -> None:
    url = reverse("alerts:channel_create", kwargs={"kind": "email"})
    response = admin_client.post(url, {"name": "ops\x00", "email_recipients": "a@example.com"})
    assert _field_errors(response, "name")


# --- sign-in --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["a" * 151, "a" * 20_000, "ali\x01ce", "alice\x00"])
def test_an_impossible_username_at_sign_in_is_a_field_error_and_leaves_no_trace(
    client: Client, admin_user: Any, username: str
) -> None:
    events = AuditEvent.objects.count()
    response = client.post(LOGIN_URL, {"login": username, "password": PASSWORD})
    assert _field_errors(response, "login")
    assert AuditEvent.objects.count() == events
    assert not AccessAttempt.objects.exists()


def test_a_wrong_password_at_sign_in_is_still_audited_and_counted(
    client: Client, admin_user: Any
) -> None:
    response = client.post(LOGIN_URL, {"login": "alice", "password": "not it"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 1
    assert AccessAttempt.objects.count() == 1
