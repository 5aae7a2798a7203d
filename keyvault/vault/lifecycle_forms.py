"""Forms of the pages that correct a credential's life (``keyvault.vault.lifecycle``). They
parse input; the rules are the services'.

Dates are days of local time. A day left as it was keeps the stored instant (so changing only
the expiry leaves the issue moment alone); a new issue day of today means ``now``, another
day its local midnight, like the paste form (``keyvault.vault.forms``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django import forms
from django.utils import timezone

from keyvault.models import Credential
from keyvault.rotation.services import REASON_MAX_LENGTH
from keyvault.vault.expiry import local_midnight
from keyvault.web.forms import DateField, TextField


class CredentialDatesForm(forms.Form):
    """New issue and expiry days for the current ``credential``, and why."""

    credential = forms.UUIDField(widget=forms.HiddenInput)
    issued_on = DateField(label="Issued on")
    expires_on = DateField(
        label="Expires on", help_text="The day the vendor says it stops working."
    )
    reason = TextField(
        multiline=True,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give a reason; it is kept in the audit log."},
        help_text="Kept in the audit log, e.g. “the vendor's page says 1 May 2027”.",
    )

    def __init__(self, *args: Any, credential: Credential, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = credential
        self.now = now
        self.fields["credential"].initial = credential.pk
        self.fields["issued_on"].initial = timezone.localdate(credential.issued_at)
        self.fields["expires_on"].initial = timezone.localdate(credential.expires_at)

    @property
    def out_of_date(self) -> bool:
        """The page was opened for a version that is no longer the current one."""
        named: uuid.UUID | None = self.cleaned_data.get("credential")
        return named != self.current.pk

    def issued_at(self) -> datetime:
        day: date = self.cleaned_data["issued_on"]
        if day == timezone.localdate(self.current.issued_at):
            return self.current.issued_at
        return self.now if day == timezone.localdate(self.now) else local_midnight(day)

    def expires_at(self) -> datetime:
        day: date = self.cleaned_data["expires_on"]
        if day == timezone.localdate(self.current.expires_at):
            return self.current.expires_at
        return local_midnight(day)


class CredentialConfirmForm(forms.Form):
    """The version whose expiry the page asked to confirm."""

    credential = forms.UUIDField(widget=forms.HiddenInput)
