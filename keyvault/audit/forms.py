"""The audit log's filter form (GET on the page, POST on the export) and the compliance page's
date range (GET on the page, POST on the rotation-history export)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from keyvault.audit.compliance import DateRange, default_range, months_ending
from keyvault.audit.selectors import SEARCH_MAX_LENGTH, AuditFilter
from keyvault.models import AuditAction, Integration
from keyvault.web.forms import DateField, DateInput, TextField


class AuditFilterForm(forms.Form):
    """The audit log's filters (GET). Invalid values are reported and otherwise ignored."""

    # A name, not a drop-down: listing every integration would make the page's cost grow with
    # their number. Links from other pages pass the integration's id instead.
    integration = TextField(
        required=False,
        max_length=200,
        label="Integration",
        widget=forms.TextInput(attrs={"placeholder": "name, as on the dashboard"}),
    )
    actor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Who")
    action = forms.ChoiceField(required=False, label="Action")
    date_from = DateField(required=False, label="From")
    date_to = DateField(required=False, label="To")
    q = TextField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "user, id, details…"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor_field = self.fields["actor"]
        assert isinstance(actor_field, forms.ChoiceField)
        actor_field.choices = [("", "Anyone")] + [
            (str(pk), username)
            for pk, username in get_user_model()
            .objects.order_by("username")
            .values_list("pk", "username")
        ]
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)
        action_field.choices = [("", "Any action"), *AuditAction.choices]

    def clean_integration(self) -> uuid.UUID | None:
        """The integration named (case-insensitively) or identified by id, as its id."""
        value = self.cleaned_data["integration"].strip()
        if not value:
            return None
        try:
            matches = Integration.objects.filter(pk=uuid.UUID(value))
        except ValueError:
            matches = Integration.objects.filter(name__iexact=value)
        found = list(matches.values_list("pk", "name")[:10])
        exact = [match for match in found if match[1] == value]
        if len(found) > 1 and len(exact) == 1:
            found = exact
        if not found:
            raise forms.ValidationError("No integration has this name.")
        if len(found) > 1:
            raise forms.ValidationError(
                "Several integrations differ only in upper and lower case; type the name exactly."
            )
        pk, name = found[0]
        # Show the name in the box, also when the page was reached with an id.
        self.data = {**self.data, "integration": name}
        return pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilter:
        """The valid part of the input as a filter (an invalid field is left out)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return AuditFilter(
            integration_id=data.get("integration"),
            actor_id=data.get("actor"),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to") if "date_to" not in self.errors else None,
            q=(data.get("q") or "").strip(),
        )


class ComplianceRangeForm(forms.Form):
    """The compliance page's date range: local days, both included. Either end may be left
    empty: no end means today, no start 12 months before the end."""

    date_from = forms.DateField(required=False, label="From", widget=DateInput())
    date_to = forms.DateField(required=False, label="To", widget=DateInput())

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        default = default_range(now=now)
        self.fields["date_from"].initial = default.start  # shown when nothing was asked for
        self.fields["date_to"].initial = default.end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def date_range(self) -> DateRange:
        """The range asked for; the default (the last 12 months) when the form is unbound or
        invalid, so the page always has figures to show next to the errors."""
        default = default_range(now=self.now)
        if not self.is_bound or not self.is_valid():
            return default
        end = self.cleaned_data.get("date_to") or default.end
        start = self.cleaned_data.get("date_from") or months_ending(end).start
        if start > end:  # only a start was given, after today
            end = start
        return DateRange(start=start, end=end)
