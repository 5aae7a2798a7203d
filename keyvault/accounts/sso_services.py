"""Writes of SSO sign-ins: the role from the groups claim, just-in-time users, refusals. Each
locks, writes and audits in one transaction and writes nothing when nothing changed.

The identity provider is the authority on an SSO user's role: the groups claim applies even to
the last admin (the shell's ``create_user --password-now`` makes a break-glass admin).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from keyvault.accounts.selectors import user_role
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Role


def _provider_label() -> str:
    return f"{settings.KEYVAULT_OIDC_NAME} (SSO)"


def _role_groups_set(user: Any, role: Role | None) -> None:
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    if role is not None:
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    if user.is_superuser and role != Role.ADMIN:
        user.is_superuser = False
        user.save(update_fields=["is_superuser"])


def user_sso_role_sync(
    *, user: Any, role: Role | None, now: datetime, ip: str | None = None
) -> bool:
    """Give an SSO user the role the groups claim gives them (None: no role at all). Returns
    False when it was their role already (nothing written); audited as ``user.sso_role_changed``
    otherwise."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        before = user_role(user)
        if before == role:
            return False
        _role_groups_set(user, role)
        audit_append(
            action=AuditAction.USER_SSO_ROLE_CHANGED,
            now=now,
            actor_label=_provider_label(),
            target=user,
            ip=ip,
            details={
                "username": user.get_username(),
                "from": before.value if before else "",
                "to": role.value if role else "",
            },
        )
    return True


def user_sso_create(
    *, save: Callable[[], Any], role: Role, now: datetime, ip: str | None = None
) -> Any:
    """Create a user at their first SSO sign-in: ``save`` (allauth's) makes the user and links
    the identity; this gives the role and audits ``user.sso_created``, all in one transaction.
    Returns the user. Raises ``IntegrityError``, having written nothing, when the username or
    the identity was taken meanwhile (a concurrent first sign-in of the same person)."""
    with transaction.atomic():
        user = save()
        _role_groups_set(user, role)
        audit_append(
            action=AuditAction.USER_SSO_CREATED,
            now=now,
            actor_label=_provider_label(),
            target=user,
            ip=ip,
            details={"username": user.get_username(), "email": user.email, "role": role.value},
        )
    return user


def user_sso_refused(*, label: str, reason: str, now: datetime, ip: str | None = None) -> None:
    """Record an SSO sign-in refused for ``reason`` (the identity: a username, or the email or
    subject of someone who has no account)."""
    audit_append(
        action=AuditAction.USER_SSO_REFUSED,
        now=now,
        actor_label=_provider_label(),
        ip=ip,
        details={"username": label, "reason": reason},
    )
