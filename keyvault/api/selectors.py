"""Reads of the API: integrations by keyset, reminders by keyset, a user's tokens.

Keyset paging (never OFFSET): a page is ``limit + 1`` rows after the cursor, so the last page
costs what the first does. Cursors are opaque to clients (URL-safe base64 of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime

from alerts.models import Reminder
from keyvault.api.models import ApiToken
from keyvault.vault.selectors import DashboardRow, dashboard_rows, integration_search

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class CursorError(ValueError):
    """The cursor was not made by this API."""


def cursor_encode(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("This cursor is not valid; use the `next` link of a page.") from None
    if not isinstance(values, dict):
        raise CursorError("This cursor is not valid; use the `next` link of a page.")
    return values


@dataclass(frozen=True)
class IntegrationFilter:
    q: str = ""
    provider: str = ""
    identity_provider: str = ""
    expires_before: datetime | None = None  # the current credential expires before this
    archived: bool = False  # only archived integrations (else only those not archived)


@dataclass(frozen=True)
class IntegrationKeysetPage:
    rows: list[DashboardRow]
    next_cursor: str | None


def _after(cursor: str) -> Q:
    """Rows after ``cursor`` in the dashboard's order: current expiry (none last), then name
    (unique, so the order is total)."""
    values = cursor_decode(cursor)
    name, expires = values.get("n"), values.get("e")
    if not isinstance(name, str) or not (expires is None or isinstance(expires, str)):
        raise CursorError("This cursor is not valid; use the `next` link of a page.")
    if expires is None:
        return Q(current_expires_at__isnull=True, name__gt=name)
    expires_at = parse_datetime(expires)
    if expires_at is None:
        raise CursorError("This cursor is not valid; use the `next` link of a page.")
    return (
        Q(current_expires_at__gt=expires_at)
        | Q(current_expires_at=expires_at, name__gt=name)
        | Q(current_expires_at__isnull=True)
    )


def integration_keyset_page(
    *, filters: IntegrationFilter, cursor: str | None, limit: int, now: datetime
) -> IntegrationKeysetPage:
    """Integrations by soonest expiry (as on the dashboard), ``limit`` after ``cursor``, each
    with its shown credential. Two queries whatever the table size. Raises ``CursorError``."""
    qs = integration_search(q=filters.q, archived=filters.archived)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.identity_provider:
        qs = qs.filter(identity_provider=filters.identity_provider)
    if filters.expires_before is not None:
        qs = qs.filter(current_expires_at__lt=filters.expires_before)  # type: ignore[misc]
    if cursor:
        qs = qs.filter(_after(cursor))
    found = list(qs[: limit + 1])
    integrations = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last = integrations[-1]
        expires = last.current_expires_at  # type: ignore[attr-defined]
        next_cursor = cursor_encode({"e": expires.isoformat() if expires else None, "n": last.name})
    return IntegrationKeysetPage(
        rows=dashboard_rows(integrations, now=now), next_cursor=next_cursor
    )


@dataclass(frozen=True)
class ReminderFilter:
    status: str = ""
    integration_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ReminderKeysetPage:
    reminders: list[Reminder]
    next_cursor: str | None


def reminders_filtered(*, filters: ReminderFilter) -> QuerySet[Reminder]:
    qs = Reminder.objects.select_related("credential__integration", "channel").defer(
        "credential__scim_url_ciphertext",
        "credential__token_ciphertext",
        "channel__webhook_ciphertext",
        "channel__signing_secret_ciphertext",
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.integration_id is not None:
        qs = qs.filter(credential__integration_id=filters.integration_id)
    if filters.channel_id is not None:
        qs = qs.filter(channel_id=filters.channel_id)
    return qs


def reminder_keyset_page(
    *, filters: ReminderFilter, cursor: str | None, limit: int
) -> ReminderKeysetPage:
    """Reminders, newest first, ``limit`` after ``cursor``. Raises ``CursorError``."""
    qs = reminders_filtered(filters=filters)
    if cursor:
        before = cursor_decode(cursor).get("id")
        if not isinstance(before, int) or isinstance(before, bool):
            raise CursorError("This cursor is not valid; use the `next` link of a page.")
        qs = qs.filter(pk__lt=before)
    found = list(qs.order_by("-pk")[: limit + 1])
    reminders = found[:limit]
    next_cursor = cursor_encode({"id": reminders[-1].pk}) if len(found) > limit else None
    return ReminderKeysetPage(reminders=reminders, next_cursor=next_cursor)


def api_tokens_of(*, user: Any) -> list[ApiToken]:
    """``user``'s tokens, newest first (revoked and expired ones too)."""
    return list(ApiToken.objects.filter(user=user).select_related("user").order_by("-created_at"))


def api_token_of(*, user: Any, token_id: uuid.UUID) -> ApiToken | None:
    """``user``'s token ``token_id``, or None (unknown, or someone else's)."""
    return ApiToken.objects.filter(user=user, pk=token_id).select_related("user").first()


def reminder_get(*, reminder_id: int) -> Reminder:
    """The reminder ``reminder_id``; 404 when unknown."""
    return get_object_or_404(Reminder.objects.only("pk"), pk=reminder_id)
