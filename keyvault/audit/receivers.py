"""Audit sign-ins, failed sign-ins and sign-outs.

A wrong password re-entered before a reveal is not a sign-in and does not pass through
``authenticate`` (see ``keyvault.web.reauth``): the reveal audits it as
``credential.reveal_denied``.
"""

from __future__ import annotations

from typing import Any

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
