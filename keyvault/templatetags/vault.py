"""Template helpers for the vault pages."""

from __future__ import annotations

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def is_required(field: BoundField) -> bool:
    """True when the field is required, by the form or by the page (``required`` attribute)."""
    return bool(field.field.required or field.field.widget.attrs.get("required"))
