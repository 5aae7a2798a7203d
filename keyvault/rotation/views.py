"""Pages that change a credential's life: rotate, revoke, add after a revoke; and the history.

Each view checks its role, parses with a form, calls one service and renders or redirects.
Views that receive a secret are wrapped like ``keyvault.vault.views``: ``handles_secrets``
outermost, ``sensitive_variables()`` innermost.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from keyvault.audit.selectors import integration_history as history_selector
from keyvault.models import Credential, CredentialState, Integration
from keyvault.rotation.forms import CredentialAddForm, RevokeForm, RotateForm
from keyvault.rotation.services import credential_revoke as revoke_service
from keyvault.rotation.services import credential_rotate as rotate_service
from keyvault.vault import services
from keyvault.vault.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required
from keyvault.web.secrecy import handles_secrets


def _current(integration: Integration) -> Credential | None:
    return (
        Credential.objects.filter(integration=integration, state=CredentialState.CURRENT)
        .select_related("integration")
        .first()
    )


def _lead_phrase(days: int) -> str:
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} early"
    if days == 0:
        return "on the day it expires"
    return f"{-days} day{'s' if days != -1 else ''} late"


@handles_secrets("scim_url", "token")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def credential_rotate(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Paste the replacement for the current credential (the target of reminder links)."""
    integration = get_object_or_404(Integration, pk=pk)
    current = _current(integration)
    if current is None:
        messages.info(request, "This integration has no current credential: add one instead.")
        return redirect("keyvault:credential_add", pk=integration.pk)
    now = timezone.now()
    form = RotateForm(
        request.POST if request.method == "POST" else None, credential=current, now=now
    )
    if form.is_bound and form.is_valid():
        assert form.secret is not None and form.replaced is not None
        try:
            rotation = rotate_service(
                credential=form.replaced,
                secret=form.secret,
                actor=request.user,
                now=now,
                reason=form.cleaned_data["reason"],
                idp_updated=form.cleaned_data["idp_updated"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Rotated {_lead_phrase(rotation.lead_time_days)}. The old version stays "
                "revealable for the grace period, then its secret is destroyed.",
            )
            return redirect("keyvault:integration_detail", integration_id=integration.pk)
    return render(
        request,
        "keyvault/rotate.html",
        {"integration": integration, "current": current, "form": form},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def credential_revoke(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Revoke the current credential with a reason."""
    integration = get_object_or_404(Integration, pk=pk)
    current = _current(integration)
    if current is None:
        messages.info(request, "This integration has no current credential to revoke.")
        return redirect("keyvault:integration_detail", integration_id=integration.pk)
    form = RevokeForm(
        request.POST if request.method == "POST" else None, initial={"credential": current.pk}
    )
    if form.is_bound and form.is_valid():
        target = Credential.objects.filter(
            pk=form.cleaned_data["credential"], integration=integration
        ).first()
        try:
            if target is None:
                raise ValidationError("This form is out of date; open the revoke page again.")
            revoke_service(
                credential=target,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, f"The credential ····{target.hint} was revoked. Reminders for it stop."
            )
            return redirect("keyvault:integration_detail", integration_id=integration.pk)
    return render(
        request,
        "keyvault/revoke.html",
        {"integration": integration, "current": current, "form": form},
    )


@handles_secrets("scim_url", "token")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def credential_add(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Paste a new current credential for an integration that has none (e.g. after a revoke)."""
    integration = get_object_or_404(Integration, pk=pk)
    if _current(integration) is not None:
        messages.info(request, "This integration already has a current credential: rotate it.")
        return redirect("keyvault:credential_rotate", pk=integration.pk)
    now = timezone.now()
    form = CredentialAddForm(
        request.POST if request.method == "POST" else None, integration=integration, now=now
    )
    if form.is_bound and form.is_valid():
        assert form.secret is not None
        try:
            services.credential_create(
                integration=integration,
                secret=form.secret,
                actor=request.user,
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "The new credential was saved and is now current.")
            return redirect("keyvault:integration_detail", integration_id=integration.pk)
    return render(
        request, "keyvault/credential_add.html", {"integration": integration, "form": form}
    )


@viewer_required
@require_safe
def integration_history(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Every version and every rotation of one integration (no secrets)."""
    history = history_selector(integration_id=pk)
    return render(request, "keyvault/history.html", {"history": history})
