"""Audit sign-ins, failed sign-ins, sign-outs and changes to a second factor.

A wrong password re-entered before a reveal is not a sign-in and does not pass through
``authenticate`` (see ``keyvault.web.reauth``): the reveal audits it as
``credential.reveal_denied``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction
from keyvault.web.requestinfo import client_ip


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_append(action=AuditAction.LOGIN, now=timezone.now(), actor=user, ip=client_ip(request))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_append(
            action=AuditAction.LOGOUT, now=timezone.now(), actor=user, ip=client_ip(request)
        )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # ``credentials`` arrives with the password already masked by Django; keep the username only.
    username = str(credentials.get("username", ""))[:150]
    audit_append(
        action=AuditAction.LOGIN_FAILED,
        now=timezone.now(),
        actor_label=username,
        ip=client_ip(request),
        details={"username": username},
    )


# --- second factor (allauth.mfa): turned on, turned off, new recovery codes ---

_KINDS = {
    "totp": "authenticator app",
    "recovery_codes": "recovery codes",
    "webauthn": "security key",
}


def _mfa_event(
    action: AuditAction, request: HttpRequest | None, user: Any, authenticator: Any
) -> None:
    audit_append(
        action=action,
        now=timezone.now(),
        actor=user,
        target=user,
        ip=client_ip(request),
        details={"username": user.get_username(), "kind": _KINDS.get(authenticator.type, "")},
    )


def _on_mfa_signal(action: AuditAction) -> Callable[..., None]:
    def handler(
        sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any
    ) -> None:
        # Recovery codes made or removed with the authenticator app are part of turning it on
        # or off; only their renewal is an event of its own.
        if (
            authenticator.type == "recovery_codes"
            and action != AuditAction.USER_MFA_CODES_REGENERATED
        ):
            return
        _mfa_event(action, request, user, authenticator)

    return handler


_mfa_added = _on_mfa_signal(AuditAction.USER_MFA_ENABLED)
_mfa_removed = _on_mfa_signal(AuditAction.USER_MFA_DISABLED)
_mfa_codes_renewed = _on_mfa_signal(AuditAction.USER_MFA_CODES_REGENERATED)
mfa_signals.authenticator_added.connect(_mfa_added)
mfa_signals.authenticator_removed.connect(_mfa_removed)
mfa_signals.authenticator_reset.connect(_mfa_codes_renewed)


#: Why a second factor refused a sign-in, by its kind (recovery codes and the app take codes).
_REFUSED = {"webauthn": "security key refused"}


@receiver(mfa_signals.authentication_failed)
def _mfa_code_refused(
    sender: Any,
    request: HttpRequest | None,
    user: Any,
    authenticator: Any = None,
    reauthentication: bool = False,
    **kwargs: Any,
) -> None:
    """A wrong second-factor code, or a refused security key, after a right password is a
    failed sign-in too (a wrong one when confirming a change is not: the session is signed
    in)."""
    if reauthentication:
        return
    username = user.get_username()
    reason = _REFUSED.get(getattr(authenticator, "type", ""), "wrong code")
    audit_append(
        action=AuditAction.LOGIN_FAILED,
        now=timezone.now(),
        actor_label=username,
        ip=client_ip(request),
        details={"username": username, "reason": reason},
    )
