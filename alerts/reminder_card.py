"""What an integration page says about its reminders (the "Reminders" card): the thresholds in
force, the channels that receive them with their recipients and share of the thresholds, the
last one sent, the next one due, and the failures an admin can retry.

A fixed number of queries whatever the number of channels, reminders or failures. Metadata
only: a channel's webhook shows by its hint, never its URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from alerts import policy
from alerts.audiences import audience_overrides, channel_has_recipient
from alerts.models import Channel, ChannelKind, Reminder, ReminderStatus
from keyvault.models import Credential, Integration
from keyvault.vault.expiry import days_left, threshold_phrase

#: At most this many failures listed on the card (the channel pages list the rest).
CARD_FAILURES = 10


@dataclass(frozen=True)
class CardChannel:
    """A channel of the integration: who it writes to and which thresholds it receives."""

    channel: Channel
    recipients: str
    thresholds: tuple[int, ...]
    escalated: bool  # receives only part of the thresholds

    @property
    def thresholds_text(self) -> str:
        return ", ".join(str(t) for t in self.thresholds) + " days"


@dataclass(frozen=True)
class NextDue:
    at: datetime
    threshold: int

    @property
    def phrase(self) -> str:
        return threshold_phrase(self.threshold)


@dataclass(frozen=True)
class ReminderCard:
    off: str  # why no reminders go out at all ("" when they do)
    thresholds: tuple[int, ...]
    custom: bool  # the integration's own thresholds, not the default
    channels: list[CardChannel] = field(default_factory=list)
    silent: int = 0  # channels of the integration with nobody to write to about it
    last_sent: Reminder | None = None
    next_due: NextDue | None = None
    failures: list[Reminder] = field(default_factory=list)


def channel_recipients(channel: Channel, *, owner_email: str) -> str:
    """Whom ``channel`` writes to, in words: addresses, the owner, or the webhook's hint."""
    if channel.kind != ChannelKind.EMAIL:
        hint = f": {channel.webhook_hint}" if channel.webhook_hint else ""
        return f"{channel.get_kind_display()}{hint}"
    people = [a.strip() for a in channel.email_recipients.split(",") if a.strip()]
    if channel.email_to_owner and owner_email:
        people.append(f"the owner ({owner_email})")
    return ", ".join(people)


def _next_due(*, credential: Credential, thresholds: set[int], now: datetime) -> NextDue | None:
    if not thresholds:
        return None
    tz = timezone.get_default_timezone()
    at = policy.next_crossing_at(
        expires_at=credential.expires_at, now=now, thresholds=sorted(thresholds), tz=tz
    )
    return NextDue(at=at, threshold=days_left(credential.expires_at, now=at, tz=tz))


def reminder_card(
    *, integration: Integration, credential: Credential | None, now: datetime
) -> ReminderCard:
    """The card of ``integration`` whose current credential is ``credential`` (None when it has
    none) at ``now``. Four queries."""
    thresholds = policy.thresholds_for(
        override=integration.reminder_thresholds, default=settings.KEYVAULT_REMINDER_THRESHOLDS
    )
    custom = bool(integration.reminder_thresholds.strip())
    if integration.archived_at is not None:
        return ReminderCard(off="archived", thresholds=thresholds, custom=custom)
    if credential is None:
        return ReminderCard(off="no current credential", thresholds=thresholds, custom=custom)
    channels = Channel.objects.filter(Q(is_default=True) | Q(integrations=integration)).distinct()
    escalation = audience_overrides(integration_ids=[integration.pk])
    card_channels: list[CardChannel] = []
    silent, received = 0, set[int]()
    for channel in channels.order_by("name"):
        if not channel_has_recipient(channel, owner_email=integration.owner_email):
            silent += 1
            continue
        escalate_from = escalation.get((integration.pk, channel.pk), channel.escalate_from_days)
        share = policy.channel_thresholds(thresholds=thresholds, escalate_from=escalate_from)
        received.update(share)
        card_channels.append(
            CardChannel(
                channel=channel,
                recipients=channel_recipients(channel, owner_email=integration.owner_email),
                thresholds=share,
                escalated=share != thresholds,
            )
        )
    rows = Reminder.objects.filter(credential=credential).select_related("channel")
    last_sent = rows.filter(status=ReminderStatus.SENT).order_by("-sent_at").first()
    failures = list(
        rows.filter(status=ReminderStatus.FAILED).order_by(
            F("claimed_at").desc(nulls_last=True), "-created_at"
        )[:CARD_FAILURES]
    )
    for reminder in (last_sent, *failures):
        if reminder is not None:
            reminder.threshold_label = threshold_phrase(reminder.threshold)  # type: ignore[attr-defined]
    return ReminderCard(
        off="",
        thresholds=thresholds,
        custom=custom,
        channels=card_channels,
        silent=silent,
        last_sent=last_sent,
        next_due=_next_due(credential=credential, thresholds=received, now=now),
        failures=failures,
    )
