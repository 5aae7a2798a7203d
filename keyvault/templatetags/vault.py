"""Template helpers every page uses (loaded as a builtin, see ``TEMPLATES`` in settings)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.forms import BoundField

from keyvault.vault.providers import provider_for
from keyvault.web.dates import day_text, moment_text

register = template.Library()


@register.filter
def is_required(field: BoundField) -> bool:
    """True when the field is required, by the form or by the page (``required`` attribute)."""
    return bool(field.field.required or field.field.widget.attrs.get("required"))


@register.filter
def vendor_name(provider: str) -> str:
    """A provider as a sentence names its vendor: “Atlassian”, not “Atlassian (SCIM API key)”."""
    return provider_for(provider).name


@register.filter
def day(value: date | datetime | None) -> str:
    """A date as every page writes it: “8 Mar 2026” (empty for no value)."""
    return day_text(value) if value else ""


@register.filter
def moment(value: datetime | None, precision: str = "") -> str:
    """A date and time as every page writes it: “8 Mar 2026, 09:00” (empty for no value);
    ``moment:"seconds"`` adds the seconds."""
    return moment_text(value, seconds=precision == "seconds") if value else ""
