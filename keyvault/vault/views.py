"""Pages of the vault. Each view checks its role, parses, calls one service or selector, renders.

Views that receive a secret (token, SCIM URL) or a password are wrapped in ``handles_secrets``
(outermost) and ``sensitive_variables()`` (innermost), so neither the error email nor the
technical 500 page can show it. Only ``credential_reveal`` puts a secret into HTML, with
``Cache-Control: no-store``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from alerts.reminder_card import reminder_card
from keyvault.accounts import throttle
from keyvault.accounts.mfa import (
    SECURITY_KEY,
    code_confirm,
    mfa_types,
    security_key_challenge,
    security_key_confirm,
)
from keyvault.models import Integration
from keyvault.vault import check_selectors, forms, selectors, services
from keyvault.vault import dashboard as board
from keyvault.vault.providers import provider_for
from keyvault.web import reauth
from keyvault.web.forms import apply_service_errors
from keyvault.web.inplace import form_refused, form_saved, wants_inplace
from keyvault.web.params import query_choice, query_text
from keyvault.web.reauth import password_confirm
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required
from keyvault.web.secrecy import handles_secrets


def integration_url(integration: Integration) -> str:
    return reverse("keyvault:integration_detail", kwargs={"integration_id": integration.pk})


@viewer_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """Integrations by soonest expiry, searchable (``q``), sliced by a count of the counts strip
    (``show``), sortable by a column (``sort``), 50 a page. A ``show`` or ``sort`` value no
    link of ours carries is ignored with a warning."""
    now = timezone.now()
    q = query_text(request, "q", max_length=selectors.SEARCH_MAX_LENGTH, label="search")
    show = query_choice(request, "show", choices=board.Slice.values, label="filter")
    sort = query_choice(request, "sort", choices=board.SORT_CHOICES, label="sort order")
    result = board.dashboard_page(
        q=q,
        show=board.Slice(show) if show else None,
        sort=sort or board.DEFAULT_SORT,
        page_number=request.GET.get("page"),
        now=now,
        base=reverse("keyvault:dashboard"),
    )
    return render(request, "keyvault/dashboard.html", {"result": result, "now": now})


@handles_secrets("scim_url", "token")
@admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def integration_create(request: HttpRequest) -> HttpResponse:
    """New integration with its first credential (the paste page)."""
    now = timezone.now()
    form = forms.IntegrationCreateForm(request.POST if request.method == "POST" else None, now=now)
    if form.is_bound and form.is_valid():
        assert form.secret is not None
        try:
            integration, _ = services.integration_create(
                fields=form.integration_fields(),
                secret=form.secret,
                actor=request.user,
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Saved: “{integration.name}” and its credential.")
            return form_saved(request, integration_url(integration))
    if form.is_bound and wants_inplace(request):
        return form_refused(form)
    return render(
        request,
        "keyvault/integration_create.html",
        {"form": form, "rules": forms.paste_rules()},
    )


@viewer_required
@require_safe
def integration_detail(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Metadata, the current credential's identifiers and status, every version, and what its
    reminders do (the Reminders card)."""
    now = timezone.now()
    detail = selectors.integration_detail(integration_id=integration_id, now=now)
    current = detail.current.credential if detail.current else None
    checks = check_selectors.check_history(
        provider=detail.integration.provider,
        credential_id=current.pk if current else None,
    )
    reminders = reminder_card(integration=detail.integration, credential=current, now=now)
    return render(
        request,
        "keyvault/integration_detail.html",
        {"detail": detail, "checks": checks, "reminders": reminders},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def integration_edit(request: HttpRequest, integration_id: uuid.UUID) -> HttpResponse:
    """Change an integration's metadata (audited by ``integration_update``)."""
    integration = selectors.integration_get(integration_id=integration_id)
    form = forms.IntegrationForm(
        request.POST if request.method == "POST" else None, instance=integration
    )
    if form.is_bound and form.is_valid():
        if not form.has_changed():
            messages.info(request, "Nothing changed.")
            return redirect("keyvault:integration_detail", integration_id=integration.pk)
        try:
            integration = services.integration_update(
                integration=integration,
                fields=form.integration_fields(),
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"“{integration.name}” was updated.")
            return redirect("keyvault:integration_detail", integration_id=integration.pk)
    return render(
        request, "keyvault/integration_edit.html", {"form": form, "integration": integration}
    )


@sensitive_variables()
def _wrong_answer(request: HttpRequest, form: forms.RevealForm) -> tuple[str, str, str] | None:
    """The field, audit reason and page words of the first wrong answer at Reveal (the
    password, then the second factor when the form asks for one: the security key's answer when
    one came, else the code), or None when both are right."""
    if "password" in form.fields and not password_confirm(
        request, password=form.cleaned_data["password"]
    ):
        return "password", "wrong password", "That password is not right."
    if form.cleaned_data.get("credential"):
        if not security_key_confirm(user=request.user, credential=form.cleaned_data["credential"]):
            return "code", "security key refused", "That security key was not accepted."
        return None
    if "code" in form.fields and not code_confirm(
        user=request.user, code=form.cleaned_data["code"]
    ):
        return "code", "wrong code", "That code is not right."
    return None


@handles_secrets("password", "code")
@admin_required
@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def credential_reveal(request: HttpRequest, credential_id: uuid.UUID) -> HttpResponse:
    """Show a credential's SCIM URL and token after the admin re-enters their password (and
    their second factor, when they have one: a code, or a touch of a security key).

    A wrong password, code or key is audited once, as ``credential_reveal_denied``, and counts
    towards the user's reveal limit (``keyvault.accounts.throttle``): the page says how many
    attempts are left, and once none are, reveal is refused (429) without checking — sign-in is
    unaffected.
    A right one is audited by ``credential_reveal``.
    """
    credential = selectors.credential_for_reveal(credential_id=credential_id)
    user: Any = request.user  # signed in: admin_required
    factors, sso_linked = mfa_types(user), reauth.sso_linked(user)
    form = forms.RevealForm(
        request.POST if request.method == "POST" else None,
        factors=factors,
        # Someone who signs in only through the identity provider confirms there, or with the
        # keyvault second factor alone; without one the (unusable) password is still asked.
        needs_password=not (sso_linked and factors and not user.has_usable_password()),
    )
    revealed = None
    problem = ""
    status = 200
    now = timezone.now()
    attempts_left = throttle.reveal_attempts_left(user=request.user, now=now)
    if form.is_bound and form.is_valid():
        if not attempts_left:
            services.credential_reveal_denied(
                credential=credential,
                actor=request.user,
                now=now,
                ip=client_ip(request),
                reason=throttle.LIMIT_REASON,
            )
            status = 429
        elif wrong := _wrong_answer(request, form):
            field, reason, words = wrong
            services.credential_reveal_denied(
                credential=credential,
                actor=request.user,
                now=now,
                ip=client_ip(request),
                reason=reason,
            )
            attempts_left -= 1
            form.add_error(field, f"{words} {throttle.attempts_left_phrase(attempts_left)}")
        else:
            revealed, problem = reveal_answer(request, credential, now=now)
    return reveal_page(
        request,
        credential,
        status=status,
        form=form,
        revealed=revealed,
        problem=problem,
        attempts_left=attempts_left,
        sso_linked=sso_linked,
        # A new challenge for each page that offers the key (the last one is the one answered).
        security_key_options=(
            {"request_options": security_key_challenge(user=user)}
            if SECURITY_KEY in factors and revealed is None and attempts_left
            else None
        ),
    )


@sensitive_variables()
def reveal_answer(request: HttpRequest, credential: Any, *, now: Any) -> tuple[Any, str]:
    """The re-authenticated reveal itself (audited by ``credential_reveal``): the revealed
    secret and no problem, or nothing and why it cannot be shown."""
    try:
        revealed = services.credential_reveal(
            credential=credential, actor=request.user, now=now, ip=client_ip(request)
        )
    except services.RevealError as exc:
        return None, str(exc)
    return revealed, ""


@sensitive_variables()
def reveal_page(
    request: HttpRequest, credential: Any, *, status: int, **context: Any
) -> HttpResponse:
    """The reveal page of ``credential``, whichever way its user re-authenticated."""
    return render(
        request,
        "keyvault/credential_reveal.html",
        {
            "credential": credential,
            "integration": credential.integration,
            "provider": provider_for(credential.integration.provider),
            "cooloff_minutes": settings.KEYVAULT_REVEAL_COOLOFF_MINUTES,
            "not_stored_here": services.NOT_STORED_HERE,
            **context,
        },
        status=status,
    )
