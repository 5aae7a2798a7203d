"""Template helpers for the audit log page."""

from __future__ import annotations

import json
from typing import Any

from django import template

from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditEvent

register = template.Library()


@register.filter
def sentence(event: AuditEvent) -> str:
    """The event as one plain-text sentence (``keyvault.audit.sentences``); escaped by the
    template like any other value."""
    return event_sentence(event)


@register.filter
def details_json(details: Any) -> str:
    """An event's raw details as indented JSON, keys sorted ("" when there are none).

    Plain text: the template escapes it like any other value.
    """
    if not isinstance(details, dict) or not details:
        return ""
    return json.dumps(details, sort_keys=True, ensure_ascii=False, indent=2)
