"""Pages that correct an integration's life without a new version: its credential's dates,
archive and restore, and the list of archived integrations.

Each view checks its role, parses with a form, calls one service and redirects.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from keyvault.rotation.selectors import credential_of, integration_with_current
from keyvault.vault import lifecycle, selectors, unconfirmed
from keyvault.vault.lifecycle_forms import CredentialConfirmForm, CredentialDatesForm
from keyvault.web.dates import day_text
from keyvault.web.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required


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


_ARCHIVED_MESSAGE = (
    "“{name}” was archived: it is off the dashboard and gets no reminders, checks or notices. "
    "Its history is kept; restore it from the archived list."
)
_RESTORED_MESSAGE = "“{name}” was restored: it is tracked again."


def _archive_set(request: HttpRequest, integration_id: uuid.UUID, *, archive: bool) -> HttpResponse:
    service = lifecycle.integration_archive if archive else lifecycle.integration_restore
    integration = service(
        integration=selectors.integration_get(integration_id=integration_id),
        actor=request.user,
        now=timezone.now(),
        ip=client_ip(request),
    )
    message = _ARCHIVED_MESSAGE if archive else _RESTORED_MESSAGE
    messages.success(request, message.format(name=integration.name))
    return redirect("keyvault:integration_detail", integration_id=integration.pk)


@admin_required
@require_POST
def integration_archive(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Archive the integration: off the dashboard, no reminders; its history stays."""
    return _archive_set(request, integration_id, archive=True)


@admin_required
@require_POST
def integration_restore(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Bring an archived integration back onto the dashboard and into the reminders."""
    return _archive_set(request, integration_id, archive=False)


@admin_required
@require_POST
def credential_expiry_confirm(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Confirm that the worst-case expiry shown for the current credential is right."""
    integration = selectors.integration_get(integration_id=integration_id)
    form = CredentialConfirmForm(request.POST)
    credential = (
        credential_of(integration=integration, credential_id=form.cleaned_data["credential"])
        if form.is_valid()
        else None
    )
    if credential is not None and unconfirmed.credential_expiry_confirm(
        actor=request.user, credential=credential, now=timezone.now(), ip=client_ip(request)
    ):
        expires = day_text(credential.expires_at)
        messages.success(request, f"Expiry date confirmed: {expires}. The weekly reminder stops.")
    else:
        messages.info(request, "Nothing to confirm: the date was confirmed or changed meanwhile.")
    return redirect("keyvault:integration_detail", integration_id=integration.pk)


@viewer_required
@require_safe
def integrations_archived(request: HttpRequest) -> HttpResponse:
    """The archived integrations, most recently archived first."""
    return render(
        request,
        "keyvault/integrations_archived.html",
        {"integrations": selectors.integrations_archived()},
    )
