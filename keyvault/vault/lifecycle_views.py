"""Pages that correct an integration's life without a new version: its credential's dates.

Each view checks its role, parses with a form, calls one service and redirects.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from keyvault.rotation.selectors import integration_with_current
from keyvault.vault import lifecycle
from keyvault.vault.lifecycle_forms import CredentialDatesForm
from keyvault.web.dates import day_text
from keyvault.web.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required


@admin_required
@require_http_methods(["GET", "POST"])
def credential_dates_correct(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Correct the issue and expiry dates of the current credential, with a reason."""
    integration, current = integration_with_current(integration_id=integration_id)
    if current is None:
        messages.info(request, "This integration has no current credential to correct.")
        return redirect("keyvault:integration_detail", integration_id=integration.pk)
    now = timezone.now()
    form = CredentialDatesForm(
        request.POST if request.method == "POST" else None, credential=current, now=now
    )
    if form.is_bound and form.is_valid():
        if form.out_of_date:
            form.add_error(None, "This form is out of date; open the Correct dates page again.")
        else:
            try:
                result = lifecycle.credential_dates_correct(
                    actor=request.user,
                    credential=current,
                    issued_at=form.issued_at(),
                    expires_at=form.expires_at(),
                    reason=form.cleaned_data["reason"],
                    now=now,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                if result.changed:
                    expires = day_text(result.credential.expires_at)
                    messages.success(
                        request,
                        f"Dates corrected: it now expires on {expires}. Reminders "
                        "follow the new date.",
                    )
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("keyvault:integration_detail", integration_id=integration.pk)
    return render(
        request,
        "keyvault/credential_dates.html",
        {"integration": integration, "current": current, "form": form},
    )
