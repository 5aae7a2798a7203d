"""Input rules for pasted secrets, shared by forms and services.

Each function returns the cleaned value or raises ``ValidationError`` with a message that names
the problem, never the secret.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from keyvault.vault.providers import Provider


def clean_token(raw: str | None) -> str:
    """Trim surrounding whitespace (pastes often carry a newline) and check the rest."""
    token = (raw or "").strip()
    if not token:
        raise ValidationError("Paste the token: it is empty.", code="empty")
    if len(token.encode("utf-8")) > settings.KEYVAULT_TOKEN_MAX_BYTES:
        raise ValidationError(
            f"The token is longer than {settings.KEYVAULT_TOKEN_MAX_BYTES} bytes; "
            "check that only the token was pasted.",
            code="too_long",
        )
    if any(ch.isspace() for ch in token):
        raise ValidationError(
            "The token contains a space or line break inside it; paste it again as one piece.",
            code="inner_whitespace",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in token):
        raise ValidationError(
            "The token contains control or invisible characters; paste it again as plain text.",
            code="control_chars",
        )
    return token


def clean_scim_url(raw: str | None, *, provider: Provider) -> str:
    """An https URL of the provider's shape; empty only when the provider needs none."""
    url = (raw or "").strip()
    if not url:
        if provider.url_required:
            raise ValidationError(
                f"{provider.name} needs the {provider.url_words}.",
                code="required",
            )
        return ""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise ValidationError("The URL contains spaces or control characters.", code="invalid")
    if len(url) > 2048:
        raise ValidationError("The URL is longer than 2048 characters.", code="too_long")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValidationError("This is not a valid URL.", code="invalid") from None
    if parts.scheme.lower() != "https":
        raise ValidationError("The URL must start with https://.", code="not_https")
    if not parts.hostname:
        raise ValidationError("The URL has no host name.", code="invalid")
    if parts.username or parts.password:
        raise ValidationError(
            "The URL must not carry a user name or password; paste the token separately.",
            code="userinfo",
        )
    if not provider.url_matches(url):
        raise ValidationError(
            f"This does not look like {provider.a_name} URL; expected {provider.url_example}.",
            code="shape",
        )
    return url


def clean_expiry(
    *, issued_at: datetime, expires_at: datetime | None, provider: Provider
) -> datetime:
    """The expiry: the given one, or issued + the provider's lifetime; must follow issue."""
    if expires_at is None:
        return issued_at + timedelta(days=provider.lifetime_days)
    if expires_at <= issued_at:
        raise ValidationError("The expiry date must be after the issue date.", code="before_issue")
    return expires_at


#: Upper bound for a configured threshold: a year ahead is already unusual for a reminder.
MAX_THRESHOLD_DAYS = 365
#: At most this many thresholds in one list (a reminder a day for a month is plenty).
MAX_THRESHOLD_COUNT = 30


def thresholds_parse(raw: str | Iterable[int]) -> tuple[int, ...]:
    """Parse ``"30, 14,7,0"`` (or a sequence of ints) into unique days, most distant first.

    Raises ``ValidationError`` with a message naming the bad entry when an entry is not a whole
    number, is negative or above ``MAX_THRESHOLD_DAYS``, or the list is empty or too long.
    Overdue reminders are implied (daily after expiry) and cannot be listed.
    """
    items: list[str | int]
    items = [part.strip() for part in raw.split(",")] if isinstance(raw, str) else list(raw)
    if isinstance(raw, str) and not raw.strip():
        items = []
    days: set[int] = set()
    for item in items:
        if isinstance(item, str):
            if not item:
                raise ValidationError(
                    "Remove the empty entry (two commas in a row?).", code="empty_entry"
                )
            # ``isdigit()`` alone accepts "²" and "①", which ``int()`` refuses.
            if not (item.isascii() and item.isdigit()):
                raise ValidationError(
                    "“%(item)s” is not a whole number of days.",
                    code="not_a_number",
                    params={"item": item[:20]},
                )
            # More digits than any threshold needs: out of range, without a huge ``int()``.
            value = int(item) if len(item) <= 6 else MAX_THRESHOLD_DAYS + 1
        else:
            value = int(item)
        if not 0 <= value <= MAX_THRESHOLD_DAYS:
            raise ValidationError(
                "%(value)s days is out of range: use 0 to %(max)s (overdue reminders are daily "
                "and need no entry).",
                code="out_of_range",
                params={"value": str(item)[:20], "max": MAX_THRESHOLD_DAYS},
            )
        days.add(value)
    if not days:
        raise ValidationError("Give at least one number of days, e.g. 30,14,7.", code="empty")
    if len(days) > MAX_THRESHOLD_COUNT:
        raise ValidationError(
            "Give at most %(max)s thresholds.", code="too_many", params={"max": MAX_THRESHOLD_COUNT}
        )
    return tuple(sorted(days, reverse=True))


def validate_thresholds(value: str) -> None:
    """Form/model validator for ``Integration.reminder_thresholds`` (empty = the default)."""
    if value.strip():
        thresholds_parse(value)


#: A Slack member ID: ``U`` (or ``W`` on Enterprise Grid) then upper-case letters and digits.
SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{8,19}")


def validate_slack_member_id(value: str) -> None:
    """Form/model validator for ``Integration.owner_slack_id`` (empty = none): a member ID such
    as ``U012ABCDEF``, not a name or ``@handle`` (Slack mentions need the ID)."""
    if value and not SLACK_MEMBER_ID.fullmatch(value):
        raise ValidationError(
            "Enter a Slack member ID such as U012ABCDEF (in Slack: the person's profile, "
            "⋮ More, Copy member ID), not a name or @handle.",
            code="invalid",
        )
