"""An integration's own audience on a channel (``AudienceOverride``): writes.

A channel's *escalate from* setting says from how many days before expiry it hears about an
integration; an override changes that for one integration only (the one that provisions the
whole company reaches the admins a week out). Each change is audited on the channel
(``CHANNEL_CHANGED``, listed in the integration's history too), forgets the scan's plans for
the integration and asks for a scan, so a widened audience hears at once of what is owed now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from alerts.audiences import MAX_ESCALATE_FROM_DAYS, reminder_plans_forget
from alerts.models import AudienceOverride, Channel
from alerts.scan import reminders_scan_soon
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Integration


def channel_reachable_integrations(*, channel: Channel) -> QuerySet[Integration]:
    """The integrations ``channel`` hears about: every one for a default channel, else the
    linked ones; by name."""
    integrations = Integration.objects.all() if channel.is_default else channel.integrations.all()
    return integrations.order_by("name")


def audience_override_set(
    *,
    channel: Channel,
    integration: Integration,
    escalate_from_days: int | None,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> bool:
    """Let ``channel`` hear about ``integration`` from ``escalate_from_days`` before expiry
    (None: every reminder) whatever the channel's own setting; True when something changed.

    Raises ``ValidationError`` when the days are out of range or the channel does not hear
    about the integration at all (link it, or make the channel a default one, first).
    """
    if escalate_from_days is not None and not 0 <= escalate_from_days <= MAX_ESCALATE_FROM_DAYS:
        raise ValidationError(
            {
                "escalate_from_days": ValidationError(
                    f"Give a number of days from 0 to {MAX_ESCALATE_FROM_DAYS}, or leave it empty.",
                    code="invalid",
                )
            }
        )
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if not channel_reachable_integrations(channel=locked).filter(pk=integration.pk).exists():
            raise ValidationError(
                {
                    "integration": ValidationError(
                        "This channel does not receive reminders about that integration: link "
                        "it to the channel first.",
                        code="not_linked",
                    )
                }
            )
        current = AudienceOverride.objects.filter(channel=locked, integration=integration).first()
        if current is not None and current.escalate_from_days == escalate_from_days:
            return False
        before = current.escalate_from_days if current is not None else locked.escalate_from_days
        AudienceOverride.objects.update_or_create(
            channel=locked,
            integration=integration,
            defaults={"escalate_from_days": escalate_from_days},
        )
        _audit(locked, integration, before, escalate_from_days, actor=actor, now=now, ip=ip)
    return True


def audience_override_clear(
    *, channel: Channel, integration: Integration, actor: Any, now: datetime, ip: str | None = None
) -> bool:
    """Let ``channel`` hear about ``integration`` by its own setting again; True when an
    override was removed (nothing is written when there was none)."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        current = AudienceOverride.objects.filter(channel=locked, integration=integration).first()
        if current is None:
            return False
        current.delete()
        _audit(
            locked,
            integration,
            current.escalate_from_days,
            locked.escalate_from_days,
            actor=actor,
            now=now,
            ip=ip,
        )
    return True


def _audit(
    channel: Channel,
    integration: Integration,
    before: int | None,
    after: int | None,
    *,
    actor: Any,
    now: datetime,
    ip: str | None,
) -> None:
    audit_append(
        action=AuditAction.CHANNEL_CHANGED,
        now=now,
        actor=actor,
        integration=integration,
        target=channel,
        ip=ip,
        details={
            "name": channel.name,
            "changed": {f"audience for {integration.name}": {"from": before, "to": after}},
        },
    )
    reminder_plans_forget(integration_id=integration.pk)
    reminders_scan_soon()
