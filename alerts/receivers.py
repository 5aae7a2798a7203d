"""Signal receivers of the reminders app (connected in ``AlertsConfig.ready``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.dispatch import receiver

from alerts.audiences import reminder_plans_forget
from alerts.models import NoticeKind
from alerts.notices import notices_cancel
from alerts.scan import reminders_cancel, reminders_replan, reminders_scan_soon
from keyvault.models import Credential, CredentialState, Integration
from keyvault.rotation.signals import credential_retired
from keyvault.vault.signals import (
    credential_dates_changed,
    integration_archived,
    reminders_may_be_due,
)


@receiver(reminders_may_be_due, dispatch_uid="alerts.scan_soon")
def scan_soon(sender: Any, integration_id: UUID, **kwargs: Any) -> None:
    """A new key or new reminder settings: forget what the scan planned for the integration
    and scan as soon as the change commits, so a key pasted with two days left is reminded
    within seconds, not at the next periodic scan."""
    reminder_plans_forget(integration_id=integration_id)
    reminders_scan_soon()


@receiver(credential_retired, dispatch_uid="alerts.cancel_pending_reminders")
def cancel_pending_reminders(
    sender: Any, credential: Credential, now: datetime, **kwargs: Any
) -> None:
    """A rotated or revoked credential is owed nothing more: cancel its pending reminders and
    notices, in the rotate/revoke transaction (so a rollback keeps them)."""
    reminders_cancel(credential=credential)
    notices_cancel(credential=credential)


@receiver(credential_dates_changed, dispatch_uid="alerts.replan_after_new_dates")
def replan_after_new_dates(
    sender: Any, credential: Credential, now: datetime, **kwargs: Any
) -> None:
    """A corrected expiry date: what was recorded for thresholds the new date has not reached
    is owed again, the plan is forgotten, and a scan runs once the correction commits. The
    date is known now: pending "confirm the date" notices are cancelled."""
    reminders_replan(credential=credential, now=now)
    notices_cancel(credential=credential, kind=NoticeKind.EXPIRY_UNCONFIRMED)
    reminder_plans_forget(integration_id=credential.integration_id)
    reminders_scan_soon()


@receiver(integration_archived, dispatch_uid="alerts.cancel_archived")
def cancel_archived(sender: Any, integration: Integration, now: datetime, **kwargs: Any) -> None:
    """An archived integration is owed nothing: cancel its current credential's pending
    reminders and notices, in the archive transaction."""
    for credential in Credential.objects.filter(
        integration=integration, state=CredentialState.CURRENT
    ):
        reminders_cancel(credential=credential)
        notices_cancel(credential=credential)
