"""Archiving an integration: off the dashboard (listed under "Archived"), no reminders, checks,
notices, digest lines, feed events or metrics; history kept, audited, restorable."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse

from alerts.digest import digest_content
from alerts.models import NoticeKind, ReminderStatus
from alerts.notices import notices_raise
from alerts.scan import reminders_scan, reminders_scan_request
from keyvault.audit.compliance import compliance_summary
from keyvault.audit.sentences import event_sentence
from keyvault.feeds.calendar import calendar_render
from keyvault.feeds.metrics import metrics_exposition
from keyvault.models import AuditAction, AuditEvent, Integration
from keyvault.vault.check_selectors import credentials_to_check
from keyvault.vault.lifecycle import integration_archive, integration_restore
from tests.alerts.outbox_helpers import DueFactory, due_credential, email_channel, no_channels, rows
from tests.factories import NOW, MakeCredential

__all__ = ["due_credential", "email_channel", "no_channels"]  # fixtures used by name


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).select_related("integration"))


def test_archiving_is_audited_once_and_restoring_brings_it_back(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    integration = make_credential(name="Legacy wiki")[0].integration

    integration_archive(integration=integration, actor=admin_user, now=NOW)
    integration_archive(integration=integration, actor=admin_user, now=NOW + timedelta(days=1))
    integration.refresh_from_db()
    assert integration.archived_at == NOW
    (archived,) = _events(AuditAction.INTEGRATION_ARCHIVED)
    assert event_sentence(archived) == (
        "alice archived Legacy wiki: no more reminders, checks or notices"
    )

    integration_restore(integration=integration, actor=admin_user, now=NOW + timedelta(days=2))
    integration_restore(integration=integration, actor=admin_user, now=NOW + timedelta(days=3))
    integration.refresh_from_db()
    assert integration.archived_at is None
    (restored,) = _events(AuditAction.INTEGRATION_RESTORED)
    assert event_sentence(restored) == "alice restored Legacy wiki, archived since 1 Mar 2026"


def test_an_archived_integration_gets_no_reminders_and_a_restored_one_does(
    due_credential: DueFactory,
    email_channel: Any,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    credential, _ = due_credential(days=20)
    reminders_scan(now=NOW, enqueue=False)
    assert rows(credential) == {30: ReminderStatus.PENDING}

    integration_archive(integration=credential.integration, actor=admin_user, now=NOW)

    assert rows(credential) == {30: ReminderStatus.CANCELLED}
    later = NOW + timedelta(days=10)  # the 14-day threshold is crossed meanwhile
    result = reminders_scan(now=later, enqueue=False)
    assert (result.created, result.queued) == (0, ())
    credential.integration.refresh_from_db()
    assert (
        notices_raise(
            credential=credential, kind=NoticeKind.EXPIRY_UNCONFIRMED, key="2026-W10", now=later
        )
        == 0
    )

    with django_capture_on_commit_callbacks() as callbacks:
        integration_restore(integration=credential.integration, actor=admin_user, now=later)
    assert reminders_scan_request in callbacks
    assert reminders_scan(now=later, enqueue=False).created == 1
    assert rows(credential)[14] == ReminderStatus.PENDING


def test_the_scan_cancels_what_is_pending_for_an_integration_archived_outside_the_services(
    due_credential: DueFactory, email_channel: Any
) -> None:
    credential, _ = due_credential(days=20)
    other, _ = due_credential(days=20)
    reminders_scan(now=NOW, enqueue=False)
    Integration.objects.filter(pk=credential.integration_id).update(archived_at=NOW)

    result = reminders_scan(now=NOW, enqueue=False)

    assert result.cancelled == 1
    assert rows(credential) == {30: ReminderStatus.CANCELLED}
    assert rows(other) == {30: ReminderStatus.PENDING}


def test_archived_keys_are_left_out_of_checks_digest_feed_and_metrics(
    make_credential: MakeCredential, admin_user: Any, email_channel: Any, settings: Any
) -> None:
    kept, _ = make_credential(
        name="Kept SCIM",
        provider="generic_scim",
        scim_url="https://scim.example.com/v2",
        expires_at=NOW + timedelta(days=5),
    )
    gone, _ = make_credential(
        name="Gone SCIM",
        provider="generic_scim",
        scim_url="https://scim.example.org/v2",
        expires_at=NOW + timedelta(days=5),
    )
    integration_archive(integration=gone.integration, actor=admin_user, now=NOW)

    assert list(credentials_to_check()) == [kept]
    digest = digest_content(channel=email_channel, now=NOW)
    assert [item["name"] for item in digest.expiring] == ["Kept SCIM"]
    feed = calendar_render(now=NOW).decode()
    assert "Kept SCIM" in feed and "Gone SCIM" not in feed
    later = NOW + timedelta(days=6)  # both have expired by then
    summary = compliance_summary(now=later)
    assert [row.integration.name for row in summary.expired] == ["Kept SCIM"]
    assert summary.expired_count == 1
    assert sum(month.count for month in summary.timeline) == 1
    exposition = metrics_exposition().decode()
    assert 'integration="Kept SCIM"' in exposition
    assert 'integration="Gone SCIM"' not in exposition


def test_the_dashboard_hides_archived_integrations_and_the_archived_list_shows_them(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Still here")
    gone = make_credential(name="Retired wiki")[0].integration
    detail = reverse("keyvault:integration_detail", kwargs={"integration_id": gone.pk})

    response = admin_client.post(
        reverse("keyvault:integration_archive", kwargs={"integration_id": gone.pk})
    )

    assert response.status_code == 302 and response["Location"] == detail
    page = admin_client.get(detail).content.decode()
    assert "Archived" in page and "Versions" in page  # its history is still shown
    assert reverse("keyvault:integration_restore", kwargs={"integration_id": gone.pk}) in page
    dashboard = admin_client.get(reverse("keyvault:dashboard")).content.decode()
    assert "Still here" in dashboard and "Retired wiki" not in dashboard
    assert reverse("keyvault:integrations_archived") in dashboard
    archived = admin_client.get(reverse("keyvault:integrations_archived")).content.decode()
    assert "Retired wiki" in archived and "Still here" not in archived

    admin_client.post(reverse("keyvault:integration_restore", kwargs={"integration_id": gone.pk}))
    assert "Retired wiki" in admin_client.get(reverse("keyvault:dashboard")).content.decode()
    assert Integration.objects.get(pk=gone.pk).archived_at is None


def test_auditors_see_the_archived_list_but_cannot_archive(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    integration = make_credential()[0].integration
    url = reverse("keyvault:integration_archive", kwargs={"integration_id": integration.pk})

    assert auditor_client.post(url).status_code == 403
    assert auditor_client.get(reverse("keyvault:integrations_archived")).status_code == 200
    integration.refresh_from_db()
    assert integration.archived_at is None


def test_an_archived_integrations_page_promises_no_daily_check_and_no_weekly_question(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    legacy = make_credential(name="Legacy wiki", expiry_unknown=True)[0].integration
    detail = reverse("keyvault:integration_detail", kwargs={"integration_id": legacy.pk})

    def page() -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", admin_client.get(detail).content.decode()).split())

    tracked = page()
    integration_archive(integration=legacy, actor=admin_user, now=NOW)
    archived = page()

    assert "keyvault asks the vendor once a day" in tracked
    assert "asks the integration's channels every week" in tracked
    assert "keyvault asks the vendor once a day" not in archived
    assert "Archived: no daily check." in archived
    assert "every week" not in archived
    assert "keyvault assumes the latest possible day, 1 May 2027." in archived
