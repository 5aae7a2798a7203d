"""The API token page of the account area: list your tokens, create one (shown once), revoke.

Readable by anyone with a role (an auditor's tokens can only read). A new token appears in the
response to the POST that created it, sent with ``Cache-Control: no-store``, and never again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from keyvault.api import selectors, tokens
from keyvault.api.forms import ApiTokenForm
from keyvault.web.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import viewer_required


@viewer_required
@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Your API tokens, and the form for a new one."""
    now = timezone.now()
    form = ApiTokenForm(request.POST if request.method == "POST" else None, user=request.user)
    created = None
    if form.is_bound and form.is_valid():
        try:
            token, raw = tokens.api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=now + timedelta(days=form.cleaned_data["days"]),
                actor=request.user,
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            created = {"token": token, "raw": raw}
            form = ApiTokenForm(user=request.user)
    return render(
        request,
        "keyvault/api_tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": selectors.api_tokens_of(user=request.user),
            "now": now,
        },
    )


@viewer_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: uuid.UUID) -> HttpResponse:
    """Revoke one of your tokens (audited); someone else's is 404."""
    token = selectors.api_token_of(user=request.user, token_id=token_id)
    if token is None:
        raise Http404("No such token.")
    if tokens.api_token_revoke(
        token=token, actor=request.user, now=timezone.now(), ip=client_ip(request)
    ):
        messages.success(request, f"The token “{token.name}” was revoked; it stops working now.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("keyvault:api_tokens")
