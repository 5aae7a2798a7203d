"""An integration's own audience on a channel: the admins hear a week out about one key and a
day out about the rest; set and cleared on the channel page, audited, and in force at the next
scan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from alerts.audience_overrides import audience_override_clear, audience_override_set
from alerts.models import AudienceOverride, Channel, NoticeKind, Reminder, ReminderStatus
from alerts.notices import notice_channels
from alerts.scan import reminders_scan
from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent
from tests.alerts.outbox_helpers import DueFactory, due_credential, no_channels
from tests.factories import NOW, email_channel_make

__all__ = ["due_credential", "no_channels"]


@pytest.fixture
def admins(no_channels: None) -> Channel:
    channel = email_channel_make(name="admins", recipients="admins@example.com")
    channel.escalate_from_days = 1
    channel.save()
    return channel


def pending_on(channel: Channel) -> set[str]:
    return set(
        Reminder.objects.filter(channel=channel, status=ReminderStatus.PENDING).values_list(
            "credential__integration__name", flat=True
        )
    )


def test_an_override_widens_the_audience_for_one_integration_only(
    due_credential: DueFactory, admins: Channel, admin_user: Any
) -> None:
    crown, _ = due_credential(days=5, name="Okta → everything")
    due_credential(days=5, name="Some tool")

    audience_override_set(
        channel=admins,
        integration=crown.integration,
        escalate_from_days=7,
        actor=admin_user,
        now=NOW,
    )
    reminders_scan(now=NOW, enqueue=False)

    assert pending_on(admins) == {"Okta → everything"}
    assert Reminder.objects.get(channel=admins).threshold == 7


def test_an_override_takes_effect_at_once_although_the_scan_had_planned_the_credential(
    due_credential: DueFactory, admins: Channel, admin_user: Any
) -> None:
    crown, _ = due_credential(days=5, name="Okta → everything")
    reminders_scan(now=NOW, enqueue=False)
    assert pending_on(admins) == set()

    audience_override_set(
        channel=admins,
        integration=crown.integration,
        escalate_from_days=None,
        actor=admin_user,
        now=NOW,
    )
    later = reminders_scan(now=NOW + timedelta(minutes=1), enqueue=False)

    assert later.created == 1 and pending_on(admins) == {"Okta → everything"}


def test_notices_follow_the_override_too(
    due_credential: DueFactory, no_channels: None, admin_user: Any
) -> None:
    credential, _ = due_credential(days=200)
    late = email_channel_make(name="late", recipients="late@example.com")
    late.escalate_from_days = 0
    late.save()
    assert late not in notice_channels(
        integration=credential.integration, kind=NoticeKind.EXPIRY_UNCONFIRMED
    )

    audience_override_set(
        channel=late,
        integration=credential.integration,
        escalate_from_days=None,
        actor=admin_user,
        now=NOW,
    )

    assert late in notice_channels(
        integration=credential.integration, kind=NoticeKind.EXPIRY_UNCONFIRMED
    )


def test_setting_and_clearing_an_override_is_audited_and_a_repeat_writes_nothing(
    due_credential: DueFactory, admins: Channel, admin_user: Any
) -> None:
    credential, _ = due_credential(days=5, name="Okta")
    integration = credential.integration

    def set_seven() -> bool:
        return audience_override_set(
            channel=admins, integration=integration, escalate_from_days=7, actor=admin_user, now=NOW
        )

    assert set_seven() is True
    assert set_seven() is False
    assert audience_override_clear(
        channel=admins, integration=integration, actor=admin_user, now=NOW
    )
    assert not audience_override_clear(
        channel=admins, integration=integration, actor=admin_user, now=NOW
    )

    events = list(AuditEvent.objects.filter(action=AuditAction.CHANNEL_CHANGED).order_by("seq"))
    assert [e.details["changed"] for e in events] == [
        {"audience for Okta": {"from": 1, "to": 7}},
        {"audience for Okta": {"from": 7, "to": 1}},
    ]
    assert all(e.integration_id == integration.pk for e in events)
    assert event_sentence(events[0]) == "alice changed the channel “admins”: audience for Okta"
    assert not AudienceOverride.objects.exists()


def test_an_override_is_refused_for_an_integration_the_channel_does_not_hear_about(
    due_credential: DueFactory, no_channels: None, admin_user: Any
) -> None:
    credential, _ = due_credential(days=5)
    team = email_channel_make(name="team", recipients="team@example.com", is_default=False)

    with pytest.raises(ValidationError) as refused:
        audience_override_set(
            channel=team,
            integration=credential.integration,
            escalate_from_days=7,
            actor=admin_user,
            now=NOW,
        )

    assert refused.value.error_dict["integration"][0].code == "not_linked"
    assert not AudienceOverride.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CHANNEL_CHANGED).exists()


def test_admin_sets_and_clears_an_override_on_the_channel_page(
    due_credential: DueFactory, admins: Channel, admin_client: Client, auditor_client: Client
) -> None:
    credential, _ = due_credential(days=5, name="Okta")
    page = reverse("alerts:channel_detail", kwargs={"channel_id": admins.pk})

    response = admin_client.post(
        reverse("alerts:audience_override_set", kwargs={"channel_id": admins.pk}),
        {"integration": str(credential.integration_id), "escalate_from_days": "7"},
    )
    assert response.status_code == 302
    shown = admin_client.get(page).content.decode()
    assert "From 7 days before expiry, then daily while expired" in shown
    assert "Use the channel's setting" in shown
    assert "Save audience" not in auditor_client.get(page).content.decode()

    admin_client.post(
        reverse(
            "alerts:audience_override_clear",
            kwargs={"channel_id": admins.pk, "integration_id": credential.integration_id},
        )
    )
    assert not AudienceOverride.objects.exists()


def test_out_of_range_days_come_back_as_a_message_and_change_nothing(
    due_credential: DueFactory, admins: Channel, admin_client: Client
) -> None:
    credential, _ = due_credential(days=5)

    response = admin_client.post(
        reverse("alerts:audience_override_set", kwargs={"channel_id": admins.pk}),
        {"integration": str(credential.integration_id), "escalate_from_days": "99999"},
        follow=True,
    )

    assert "less than or equal to 3650" in response.content.decode()
    assert not AudienceOverride.objects.exists()
