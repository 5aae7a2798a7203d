"""Pages of team access: the users page (admins), the set-password link (public, the token is
the credential) and one's own account. Each view checks its role, parses, calls one service,
puts a refusal back on its form and redirects.

A set-password link is shown in a page only when email goes to the console (development) or
could not be sent, once, in the answer to the invitation, with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from keyvault.accounts import forms, invites, mfa, selectors, services, throttle
from keyvault.web.forms import apply_service_errors
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required
from keyvault.web.secrecy import handles_secrets

logger = logging.getLogger(__name__)

_PAUSED = (
    "Too many wrong passwords: password changes and Reveal are paused for you for a while, or "
    "until another admin unlocks you. Signing in is not affected."
)


@admin_required
@require_safe
def user_list(request: HttpRequest) -> HttpResponse:
    """Every user: role, how they sign in, MFA, last sign-in, active, locked."""
    rows = selectors.user_rows(now=timezone.now())
    return render(request, "accounts/user_list.html", {"rows": rows})


def _detail(
    request: HttpRequest, *, username: str, form_name: str = "", form: Any = None
) -> HttpResponse:
    row = selectors.user_row(username=username, now=timezone.now())
    context: dict[str, Any] = {
        "row": row,
        "events": selectors.user_events(user=row.user),
        "role_form": forms.RoleForm(initial={"role": row.role.value if row.role else ""}),
        "forms": {},
        "invite_max_age_hours": settings.KEYVAULT_INVITE_MAX_AGE_HOURS,
        "sign_in_methods": selectors.SignInMethod,
    }
    if form_name == "role":
        context["role_form"] = form
    elif form_name:
        context["forms"][form_name] = form
    return render(request, "accounts/user_detail.html", context, status=400 if form else 200)


@admin_required
@require_safe
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    """One user, the changes an admin can make, and the audit events about them."""
    return _detail(request, username=username)


def _deliver_invite(request: HttpRequest, *, user: Any, now: Any) -> HttpResponse:
    """Email the set-password link, or show it once (console email, or sending failed)."""
    link = invites.invite_link(user=user, now=now)
    problem = ""
    if not invites.email_is_console():
        try:
            invites.invite_send(user=user, link=link, invited_by=request.user.get_username())
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("invitation email to user %s failed: %s", user.pk, type(exc).__name__)
            problem = "The email could not be sent"
        else:
            messages.success(
                request, f"A set-password link was emailed to {user.email} for {user}."
            )
            return redirect("keyvault:user_detail", username=user.get_username())
    response = render(
        request,
        "accounts/invite_link.html",
        {
            "invited": user,
            "link": link,
            "problem": problem,
            "hours": settings.KEYVAULT_INVITE_MAX_AGE_HOURS,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def user_invite(request: HttpRequest) -> HttpResponse:
    """Invite someone as an admin or auditor: an account without a password, and a
    set-password link for them."""
    form = forms.InviteForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        now = timezone.now()
        try:
            user = services.user_add(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                role=form.role_value(),
                actor=request.user,
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _deliver_invite(request, user=user, now=now)
    return render(request, "accounts/user_invite.html", {"form": form})


@admin_required
@require_POST
def user_invite_renew(request: HttpRequest, username: str) -> HttpResponse:
    """A new set-password link for someone who has not used theirs; older links stop working."""
    user = selectors.user_get(username=username)
    form = forms.ConfirmForm(request.POST)
    now = timezone.now()
    try:
        user = services.user_invite_renew(
            user=user, actor=request.user, now=now, ip=client_ip(request)
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _detail(request, username=username, form_name="renew", form=form)
    return _deliver_invite(request, user=user, now=now)


@admin_required
@require_POST
def user_role(request: HttpRequest, username: str) -> HttpResponse:
    """Make a user an admin or an auditor (never the last active admin an auditor)."""
    user = selectors.user_get(username=username)
    form = forms.RoleForm(request.POST)
    if form.is_valid():
        try:
            changed = services.user_role_set(
                user=user,
                role=form.role_value(),
                actor=request.user,
                now=timezone.now(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if changed:
                messages.success(request, f"{user} is now {form.role_value().label.lower()}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("keyvault:user_detail", username=username)
    return _detail(request, username=username, form_name="role", form=form)


def _confirmed_change(
    request: HttpRequest,
    *,
    username: str,
    form_name: str,
    service: Callable[..., bool],
    done: str,
) -> HttpResponse:
    user = selectors.user_get(username=username)
    form = forms.ConfirmForm(request.POST)
    try:
        changed = service(user=user, actor=request.user, now=timezone.now(), ip=client_ip(request))
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _detail(request, username=username, form_name=form_name, form=form)
    if changed:
        messages.success(request, done.format(user=user))
    else:
        messages.info(request, "Nothing changed.")
    return redirect("keyvault:user_detail", username=username)


@admin_required
@require_POST
def user_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    """Stop a user from signing in (never oneself, never the last active admin)."""
    return _confirmed_change(
        request,
        username=username,
        form_name="deactivate",
        service=services.user_deactivate,
        done="{user} was deactivated and can no longer sign in.",
    )


@admin_required
@require_POST
def user_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    """Let a deactivated user sign in again."""
    return _confirmed_change(
        request,
        username=username,
        form_name="reactivate",
        service=services.user_reactivate,
        done="{user} can sign in again.",
    )


@admin_required
@require_POST
def user_unlock(request: HttpRequest, username: str) -> HttpResponse:
    """Clear a user's failed sign-ins and wrong passwords at Reveal."""
    return _confirmed_change(
        request,
        username=username,
        form_name="unlock",
        service=services.user_unlock,
        done="{user} was unlocked: sign-in and Reveal accept their password again.",
    )


@admin_required
@require_POST
def user_mfa_reset(request: HttpRequest, username: str) -> HttpResponse:
    """Remove a user's second factor (never one's own): they enrol again when required."""
    return _confirmed_change(
        request,
        username=username,
        form_name="mfa_reset",
        service=services.user_mfa_reset,
        done="{user}'s two-factor authentication was reset.",
    )


@handles_secrets("new_password1", "new_password2")
@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def invite_accept(request: HttpRequest) -> HttpResponse:
    """Set a password from a set-password link (``?t=<token>``; the form posts back to the same
    address), then sign in. The link is the credential: expired, used, replaced or forged links
    are refused with a page that says so."""
    now = timezone.now()
    try:
        user = invites.invite_user(token=request.GET.get("t", ""), now=now)
    except invites.InviteError as exc:
        return render(request, "accounts/invite_invalid.html", {"problem": str(exc)}, status=410)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.user_password_set(
                user=user,
                password=form.cleaned_data["new_password1"],
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Your password is set. Sign in with it now.")
            return redirect(resolve_url(settings.LOGIN_URL))
    return render(request, "accounts/invite_accept.html", {"form": form, "invited": user})


@handles_secrets("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def account(request: HttpRequest) -> HttpResponse:
    """One's own account: change the password, see one's second factor and recent sign-ins.

    A wrong current password is audited and counts towards the reveal limit (a signed-in
    session must not get unlimited guesses here either); with no attempts left the change is
    refused (429) before any check.
    """
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # behind login
    now = timezone.now()
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    attempts_left = throttle.reveal_attempts_left(user=user, now=now)
    status = 200
    if form.is_bound and not attempts_left:
        form = PasswordChangeForm(user)  # not checked: nothing to guess with
        status = 429
    elif form.is_bound and form.is_valid():
        try:
            user = services.user_password_change(
                user=user,
                password=form.cleaned_data["new_password1"],
                now=now,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            update_session_auth_hash(request, user)  # stay signed in here, out everywhere else
            messages.success(request, "Your password was changed.")
            return redirect("keyvault:account")
    elif form.is_bound and form.has_error("old_password", "password_incorrect"):
        services.user_password_change_refused(user=user, now=now, ip=client_ip(request))
        attempts_left -= 1
        message = throttle.attempts_left_phrase(attempts_left) if attempts_left else _PAUSED
        form.add_error("old_password", message)
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "sign_ins": selectors.own_sign_ins(user=user),
            "row_role": selectors.user_role(user),
            "paused": _PAUSED if not attempts_left else "",
            "mfa": mfa.own_mfa(user=user),
        },
        status=status,
    )
