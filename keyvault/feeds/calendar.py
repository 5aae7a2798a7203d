"""Each user's private calendar feed (RFC 5545, built with ``icalendar``): one all-day event per
current credential on its local expiry date, with an alarm at each reminder threshold and a link
to the rotate page.

The feed's address carries a random token; only its SHA-256 is stored, so the address is shown
once, when it is made, and making a new one ends the old. The feed answers only while its owner
is an active admin or auditor (404 otherwise, as for a wrong token). It holds metadata only:
never a token, a SCIM URL or a fingerprint.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from alerts.policy import threshold_crossed_at, thresholds_for
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, CalendarFeed, Credential
from keyvault.vault.expiry import threshold_phrase
from keyvault.vault.selectors import tracked_q
from keyvault.web.roles import is_viewer

#: Random bytes in a feed token (URL-safe base64 of 32 bytes: 43 characters).
TOKEN_BYTES = 32
#: How often a calendar client should fetch the feed again.
REFRESH_INTERVAL = timedelta(hours=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_create(*, user: Any, now: datetime, ip: str | None = None) -> str:
    """Give ``user`` a new feed token, ending any earlier one; audits ``CALENDAR_FEED_CHANGED``
    (never the token). Returns the token, which is not stored: show it once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        _, created = CalendarFeed.objects.update_or_create(
            user=user, defaults={"token_hash": _token_hash(token), "created_at": now}
        )
        audit_append(
            action=AuditAction.CALENDAR_FEED_CHANGED,
            now=now,
            actor=user,
            target=user,
            ip=ip,
            details={"replaced": not created},
        )
    return token


def calendar_feed_of(*, user: Any) -> CalendarFeed | None:
    """The user's feed (when it was made), or None when they have none."""
    return CalendarFeed.objects.filter(user=user).first()


def calendar_feed_owner(*, token: str) -> Any | None:
    """The active admin or auditor whose feed this token opens, else None."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_token_hash(token)).first()
    if feed is None or not feed.user.is_active or not is_viewer(feed.user):
        return None
    return feed.user


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _event(credential: Credential, *, now: datetime, tz: Any) -> Event:
    integration = credential.integration
    expires_on = credential.expires_at.astimezone(tz).date()
    rotate_url = _absolute(
        reverse("keyvault:credential_rotate", kwargs={"integration_id": integration.pk})
    )
    event = Event()
    event.add("uid", f"{credential.pk}@keyvault")
    event.add("dtstamp", now)
    event.add("dtstart", expires_on)
    event.add("dtend", expires_on + timedelta(days=1))
    unconfirmed = not credential.expiry_confirmed
    summary = f"{integration.name}: credential expires"
    event.add("summary", summary + (" (worst case, unconfirmed)" if unconfirmed else ""))
    event.add("transp", "TRANSPARENT")
    event.add("url", rotate_url)
    facts = [
        f"The credential of {integration.name} expires on {expires_on.isoformat()}"
        f" ({timezone.localtime(credential.expires_at, tz):%H:%M} {tz}).",
        f"Provider: {integration.get_provider_display()}",
        f"Identity provider: {integration.get_identity_provider_display()}",
    ]
    if unconfirmed:
        facts.insert(
            1,
            "Worst case, unconfirmed: saved with “expiry unknown — legacy key”; the key may "
            "stop working earlier. Confirm or correct the date in keyvault.",
        )
    if integration.owner:
        facts.append(f"Owner: {integration.owner}")
    if not credential.secret_stored:
        facts.append("Secret not stored in keyvault (metadata only).")
    facts.append(f"Rotate: {rotate_url}")
    event.add("description", "\n".join(facts))
    thresholds = thresholds_for(
        override=integration.reminder_thresholds, default=settings.KEYVAULT_REMINDER_THRESHOLDS
    )
    for threshold in thresholds:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{integration.name}: credential {threshold_phrase(threshold)}")
        # An absolute instant (UTC): the moment keyvault's own reminder for this threshold is
        # due, local midnight in TIME_ZONE, whatever the subscriber's zone or a DST change.
        moment = threshold_crossed_at(expires_at=credential.expires_at, threshold=threshold, tz=tz)
        alarm.add("trigger", moment.astimezone(UTC), parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
    return event


def calendar_render(*, now: datetime) -> bytes:
    """The feed: every current credential's expiry as an all-day event, by expiry."""
    tz = timezone.get_current_timezone()
    calendar = Calendar()
    calendar.add("prodid", "-//keyvault//credential expiry feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "keyvault: credential expiries")
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH_INTERVAL)
    current = (
        Credential.objects.filter(tracked_q())
        .select_related("integration")
        .only(
            "id",
            "expires_at",
            "secret_stored",
            "expiry_confirmed",
            "integration__id",
            "integration__name",
            "integration__provider",
            "integration__identity_provider",
            "integration__owner",
            "integration__reminder_thresholds",
        )
        .order_by("expires_at", "integration__name")
    )
    for credential in current.iterator(chunk_size=1000):
        calendar.add_component(_event(credential, now=now, tz=tz))
    return calendar.to_ical()
