"""Signal receivers of the reminders app (connected in ``AlertsConfig.ready``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from alerts.scan import reminders_cancel
from keyvault.models import Credential
from keyvault.rotation.signals import credential_retired


@receiver(credential_retired, dispatch_uid="alerts.cancel_pending_reminders")
def cancel_pending_reminders(
    sender: Any, credential: Credential, now: datetime, **kwargs: Any
) -> None:
    """A rotated or revoked credential is owed nothing more: cancel its pending reminders, in
    the rotate/revoke transaction (so a rollback keeps them)."""
    reminders_cancel(credential=credential)
