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
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from keyvault.rotation import forms, selectors, services
from keyvault.rotation import idp as idp_services
from keyvault.vault import credentials
from keyvault.vault.expiry import lead_time_phrase
from keyvault.vault.forms import paste_rules
from keyvault.vault.live_check import live_check_available
from keyvault.vault.providers import identity_provider_words
from keyvault.vault.views import integration_url
from keyvault.web.forms import apply_service_errors
from keyvault.web.inplace import form_refused, form_saved, wants_inplace
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required
from keyvault.web.secrecy import handles_secrets


@handles_secrets("scim_url", "token")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def credential_rotate(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Paste the replacement for the current credential (the target of reminder links)."""
    integration, current = selectors.integration_with_current(integration_id=integration_id)
    if current is None:
        messages.info(request, "This integration has no current credential: add one instead.")
        return redirect("keyvault:credential_add", integration_id=integration.pk)
    now = timezone.now()
    form = forms.RotateForm(
        request.POST if request.method == "POST" else None, credential=current, now=now
    )
    if form.is_bound and form.is_valid():
        assert form.secret is not None and form.target is not None
        try:
            rotation = services.credential_rotate(
                credential=form.target,
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
                f"Saved. Rotated {lead_time_phrase(rotation.lead_time_days)}. The old version "
                "stays revealable for the grace period, then its secret is destroyed.",
            )
            return form_saved(request, integration_url(integration))
    if form.is_bound and wants_inplace(request):
        return form_refused(form)
    return render(
        request,
        "keyvault/rotate.html",
        {
            "integration": integration,
            "current": current,
            "form": form,
            "rules": paste_rules([integration.provider]),
            "live_check_available": live_check_available(integration.provider),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def credential_revoke(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Revoke the current credential with a reason."""
    integration, current = selectors.integration_with_current(integration_id=integration_id)
    if current is None:
        messages.info(request, "This integration has no current credential to revoke.")
        return redirect("keyvault:integration_detail", integration_id=integration.pk)
    form = forms.RevokeForm(request.POST if request.method == "POST" else None, credential=current)
    if form.is_bound and form.is_valid():
        assert form.target is not None
        try:
            services.credential_revoke(
                credential=form.target,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"The credential ····{form.target.hint} was revoked. Reminders for it stop.",
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
def credential_add(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Paste a new current credential for an integration that has none (e.g. after a revoke)."""
    integration, current = selectors.integration_with_current(integration_id=integration_id)
    if current is not None:
        messages.info(request, "This integration already has a current credential: rotate it.")
        return redirect("keyvault:credential_rotate", integration_id=integration.pk)
    now = timezone.now()
    form = forms.CredentialAddForm(
        request.POST if request.method == "POST" else None, integration=integration, now=now
    )
    if form.is_bound and form.is_valid():
        assert form.secret is not None
        try:
            credentials.credential_create(
                integration=integration,
                secret=form.secret,
                actor=request.user,
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Saved. The new credential is now current.")
            return form_saved(request, integration_url(integration))
    if form.is_bound and wants_inplace(request):
        return form_refused(form)
    return render(
        request,
        "keyvault/credential_add.html",
        {"integration": integration, "form": form, "rules": paste_rules([integration.provider])},
    )


@admin_required
@require_POST
def credential_idp_confirm(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Confirm that the identity provider now holds the current key ("IdP not updated" ends)."""
    integration, current = selectors.integration_with_current(integration_id=integration_id)
    back = redirect("keyvault:integration_detail", integration_id=integration.pk)
    if current is None:
        messages.info(request, "This integration has no current credential.")
        return back
    form = forms.IdpConfirmForm(request.POST, credential=current)
    if not form.is_valid() or form.target is None:
        messages.error(
            request,
            " ".join(str(e) for e in form.non_field_errors()) or "This form is out of date.",
        )
        return back
    idp = identity_provider_words(integration.identity_provider)
    if idp_services.credential_idp_confirm(
        actor=request.user, credential=form.target, now=timezone.now(), ip=client_ip(request)
    ):
        messages.success(request, f"Confirmed: {idp} has the key ····{form.target.hint}.")
    else:
        messages.info(request, f"Nothing to confirm: {idp} was already marked as updated.")
    return back


@viewer_required
@require_safe
def integration_history(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Every version and every rotation of one integration (no secrets)."""
    history = selectors.integration_history(integration_id=integration_id)
    return render(request, "keyvault/history.html", {"history": history})
