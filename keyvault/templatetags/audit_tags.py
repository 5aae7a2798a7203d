"""Template helpers for the audit log page."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def details_text(details: Any) -> str:
    """An event's details as ``key: value`` pairs on one line (nested values as compact JSON).

    Plain text: the template escapes it like any other value.
    """
    if not isinstance(details, dict) or not details:
        return ""
    parts = []
    for key in sorted(details):
        value = details[key]
        if not isinstance(value, str):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}: {value}")
    return " · ".join(parts)
