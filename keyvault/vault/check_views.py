"""Live-check pages: "Test key" on the integration page and on the rotate form.

The integration page's button is a plain form: it checks the current credential, records the
result and comes back to the page. The rotate form's button sends the pasted token with
``fetch()`` and gets JSON with the result only, so the paste stays in the browser and the
server never writes the token into a page.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from keyvault.rotation.selectors import integration_with_current
from keyvault.vault import checks
from keyvault.vault.check_forms import ReplacementCheckForm
from keyvault.vault.check_models import CheckStatus
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required
from keyvault.web.secrecy import handles_secrets

_LEVELS = {
    CheckStatus.VALID: messages.SUCCESS,
    CheckStatus.REJECTED: messages.ERROR,
    CheckStatus.UNREACHABLE: messages.WARNING,
}


@admin_required
@require_POST
def credential_check(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Check the current credential with its vendor now, then show the integration again."""
    integration, current = integration_with_current(integration_id=integration_id)
    if current is None:
        messages.info(request, "This integration has no current credential to check.")
    else:
        try:
            check = checks.credential_check(
                credential=current, actor=request.user, now=timezone.now(), ip=client_ip(request)
            )
        except checks.LiveCheckUnavailable as exc:
            messages.info(request, str(exc))
        else:
            status = CheckStatus(check.status)
            messages.add_message(request, _LEVELS[status], check.message)
    return redirect("keyvault:integration_detail", integration_id=integration.pk)


@handles_secrets("scim_url", "token")
@admin_required
@never_cache
@require_POST
@sensitive_variables()
def replacement_check(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Try the token pasted into the rotate form (and its URL, if typed); JSON answer:
    ``result`` (valid, rejected, unreachable, unavailable), ``message``, ``http_status``,
    ``latency_ms``; 400 with ``errors`` by field when the paste is malformed."""
    integration, current = integration_with_current(integration_id=integration_id)
    if current is None:
        return JsonResponse(
            {"result": "unavailable", "message": "This integration has no current credential."}
        )
    form = ReplacementCheckForm(request.POST, integration=integration)
    if not form.is_valid():
        return JsonResponse({"errors": form.error_messages()}, status=400)
    try:
        result = checks.replacement_check(
            credential=current,
            scim_url=form.cleaned_data["scim_url"],
            token=form.cleaned_data["token"],
            actor=request.user,
            now=timezone.now(),
            ip=client_ip(request),
        )
    except checks.LiveCheckUnavailable as exc:
        return JsonResponse({"result": "unavailable", "message": str(exc)})
    return JsonResponse(
        {
            "result": result.status.value,
            "message": result.message,
            "http_status": result.http_status,
            "latency_ms": result.latency_ms,
        }
    )
