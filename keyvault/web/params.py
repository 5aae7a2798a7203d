"""Query parameters the pages read outside a form: free-text search, page cursors, and
choices from a fixed list (a filter, a sort order).

A query string is typed by anyone, so nothing here trusts it: a value that cannot be meant
(control characters, digits ``int()`` cannot read, a number too long for a cursor) is ignored
and the page says so with a message, instead of failing with a 500.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from keyvault.web.forms import control_characters_validator

#: Keys and cursors are ``seq`` values: a bigint has at most 18 digits below 2**63.
MAX_NUMBER_DIGITS = 18


def ascii_whole_number(raw: str | None, *, max_digits: int = MAX_NUMBER_DIGITS) -> int | None:
    """``raw`` as an int when it is 1 to ``max_digits`` ASCII digits, else ``None``.

    ``str.isdigit()`` alone is not enough: it accepts ``"²"`` and ``"①"``, which ``int()``
    refuses, and other scripts' digits, which ``int()`` reads but no link of ours produces.
    """
    if raw and len(raw) <= max_digits and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def query_text(request: HttpRequest, name: str, *, max_length: int, label: str) -> str:
    """The stripped text of query parameter ``name``, cut to ``max_length`` characters; ``""``
    (with a warning naming ``label``) when it holds control characters."""
    value = request.GET.get(name, "").strip()[:max_length]
    try:
        control_characters_validator()(value)
    except ValidationError:
        messages.warning(request, f"The {label} contained control characters and was ignored.")
        return ""
    return value


def query_cursor(request: HttpRequest, name: str) -> int | None:
    """Query parameter ``name`` as a page cursor; ``None`` when absent, and also (with a
    warning) when it is not a whole number a link of ours could carry."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    value = ascii_whole_number(raw)
    if value is None:
        messages.warning(request, "That page link is not valid; showing the newest events.")
    return value


def query_choice(request: HttpRequest, name: str, *, choices: Collection[str], label: str) -> str:
    """Query parameter ``name`` when it is one of ``choices``; ``""`` when absent, and also
    (with a warning naming ``label``) when it is anything else: a link of ours never carries
    another value, so the page shows what it would without it rather than failing."""
    value = request.GET.get(name, "")
    if value == "" or value in choices:
        return value
    messages.warning(request, f"That {label} is not one this page offers; it was ignored.")
    return ""
