"""User accounts and roles: every change locks, validates, writes and audits in one transaction.

A role is a Django group (``Role``). The last active admin can neither lose the role nor be
deactivated: the admin group's row is locked while the admins are counted, so two admins
demoting each other at once cannot both succeed.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables

from keyvault.accounts.selectors import user_role
from keyvault.accounts.throttle import reveal_failures
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction, Role


def first_admin_ensure(*, now: datetime, username: str = "admin") -> tuple[Any, str] | None:
    """Create an admin with a generated password when there is no user at all (audited as
    ``user.created`` by ``manage.py ensure_admin``).

    Returns ``(user, password)`` when it created one, ``None`` when users already exist.
    """
    User = get_user_model()
    with transaction.atomic():
        if User.objects.exists():
            return None
        password = secrets.token_urlsafe(18)
        user = User.objects.create_user(username=username, password=password)
        user.groups.add(_role_group(Role.ADMIN))
        audit_append(
            action=AuditAction.USER_CREATED,
            now=now,
            actor_label="manage.py ensure_admin",
            target=user,
            details={"username": username, "email": "", "role": Role.ADMIN.value},
        )
    return user, password


def user_create(*, username: str, password: str, role: Role) -> Any:
    """Create a user in one role, unaudited: for test fixtures and benchmarks. Accounts that
    people use are made by ``user_add`` (audited)."""
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def _role_group(role: Role) -> Any:
    return Group.objects.get_or_create(name=role.value)[0]


def _lock_admins() -> None:
    """Lock the admin group's row: changes that may remove an admin queue up here."""
    group = _role_group(Role.ADMIN)
    Group.objects.select_for_update().filter(pk=group.pk).first()


def _other_active_admins(user: Any) -> bool:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value))
        .exclude(pk=user.pk)
        .exists()
    )


def _refuse_last_admin(user: Any, what: str) -> None:
    if user_role(user) == Role.ADMIN and user.is_active and not _other_active_admins(user):
        raise ValidationError(
            f"{user.get_username()} is the last active admin and cannot be {what}: make "
            "another user an admin first. Nothing was changed.",
            code="last_admin",
        )


def _locked_user(user: Any) -> Any:
    return get_user_model().objects.select_for_update().get(pk=user.pk)


#: Names the users pages' URLs use for themselves (``/users/invite/``).
RESERVED_USERNAMES = frozenset({"invite"})


def _validate_new_user(*, username: str, email: str, role: Any) -> None:
    User = get_user_model()
    errors: dict[str, list[str]] = {}
    try:
        User.username_validator(username)
        if not username or len(username) > 150:
            raise ValidationError("Enter a username of 1 to 150 characters.")
        if username.lower() in RESERVED_USERNAMES:
            raise ValidationError("That name is reserved; choose another.")
    except ValidationError as exc:
        errors["username"] = exc.messages
    else:
        if User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["A user with that username exists already."]
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = exc.messages
        else:
            if User.objects.filter(email__iexact=email).exists():
                errors["email"] = ["A user with that email address exists already."]
    if role not in (Role.ADMIN, Role.AUDITOR):
        errors["role"] = ["Choose admin or auditor."]
    if errors:
        raise ValidationError(errors)


@sensitive_variables("password")
def user_add(
    *,
    username: str,
    email: str,
    role: Role,
    now: datetime,
    password: str | None = None,
    actor: Any = None,
    actor_label: str = "",
    ip: str | None = None,
) -> Any:
    """Create a user in ``role`` and return it.

    Without ``password`` the account has no usable password until its owner follows a
    set-password link (``keyvault.accounts.invites``): audited as ``user.invited``. With one
    (the shell's ``create_user --password-now``) it can sign in at once: ``user.created``.
    Raises ``ValidationError`` keyed by ``username``, ``email``, ``role`` or ``password``.
    """
    _validate_new_user(username=username, email=email, role=role)
    User = get_user_model()
    candidate = User(username=username, email=email)
    if password is not None:
        validate_password(password, candidate)
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        user.groups.add(_role_group(role))
        audit_append(
            action=AuditAction.USER_INVITED if password is None else AuditAction.USER_CREATED,
            now=now,
            actor=actor,
            actor_label=actor_label,
            target=user,
            ip=ip,
            details={"username": username, "email": email, "role": role.value},
        )
    return user


def user_invite_renew(*, user: Any, actor: Any, now: datetime, ip: str | None = None) -> Any:
    """Give an invited user (never signed in, no password yet) a fresh unusable password, so
    every earlier set-password link stops working; the caller makes and sends the new link.
    Raises ``ValidationError`` when the user has set a password already or is deactivated."""
    with transaction.atomic():
        user = _locked_user(user)
        if user.has_usable_password() or user.last_login is not None or not user.is_active:
            raise ValidationError(
                f"{user.get_username()} is not waiting for an invitation.", code="not_invited"
            )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_append(
            action=AuditAction.USER_INVITED,
            now=now,
            actor=actor,
            target=user,
            ip=ip,
            details={"username": user.get_username(), "email": user.email, "renewed": True},
        )
    return user


@sensitive_variables("password")
def _password_write(
    *, user: Any, password: str, action: AuditAction, now: datetime, ip: str | None
) -> Any:
    validate_password(password, user)
    with transaction.atomic():
        user = _locked_user(user)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_append(
            action=action,
            now=now,
            actor=user,
            target=user,
            ip=ip,
            details={"username": user.get_username()},
        )
    return user


@sensitive_variables("password")
def user_password_set(*, user: Any, password: str, now: datetime, ip: str | None = None) -> Any:
    """Set the password of a user who followed a set-password link (which this invalidates).
    Raises ``ValidationError`` when a password validator refuses it."""
    return _password_write(
        user=user, password=password, action=AuditAction.USER_PASSWORD_SET, now=now, ip=ip
    )


@sensitive_variables("password")
def user_password_change(*, user: Any, password: str, now: datetime, ip: str | None = None) -> Any:
    """Change a signed-in user's own password (the caller checked the current one). Raises
    ``ValidationError`` when a password validator refuses it."""
    return _password_write(
        user=user, password=password, action=AuditAction.USER_PASSWORD_CHANGED, now=now, ip=ip
    )


def user_password_change_refused(*, user: Any, now: datetime, ip: str | None = None) -> None:
    """Record a password change refused because the current password was wrong: it counts
    towards the user's reveal limit (``keyvault.accounts.throttle``)."""
    audit_append(
        action=AuditAction.USER_PASSWORD_CHANGE_REFUSED,
        now=now,
        actor=user,
        target=user,
        ip=ip,
        details={"username": user.get_username(), "reason": "wrong password"},
    )


def user_role_set(
    *, user: Any, role: Role, actor: Any, now: datetime, ip: str | None = None
) -> bool:
    """Make ``user`` an admin or an auditor (and no longer a Django superuser, so the role
    shown is the role held). Returns False when it was the role already (nothing written).
    Raises ``ValidationError`` for the last active admin, or an unknown role."""
    if role not in (Role.ADMIN, Role.AUDITOR):
        raise ValidationError({"role": ["Choose admin or auditor."]})
    with transaction.atomic():
        _lock_admins()
        user = _locked_user(user)
        before = user_role(user)
        if before == role:
            return False
        if role != Role.ADMIN:
            _refuse_last_admin(user, "made an auditor")
        user.groups.remove(*Group.objects.filter(name__in=Role.values))
        user.groups.add(_role_group(role))
        if user.is_superuser and role != Role.ADMIN:
            user.is_superuser = False
            user.save(update_fields=["is_superuser"])
        audit_append(
            action=AuditAction.USER_ROLE_CHANGED,
            now=now,
            actor=actor,
            target=user,
            ip=ip,
            details={
                "username": user.get_username(),
                "from": before.value if before else "",
                "to": role.value,
            },
        )
    return True


def _active_set(*, user: Any, active: bool, actor: Any, now: datetime, ip: str | None) -> bool:
    with transaction.atomic():
        _lock_admins()
        user = _locked_user(user)
        if user.is_active == active:
            return False
        if not active:
            if actor is not None and user.pk == actor.pk:
                raise ValidationError(
                    "You cannot deactivate your own account; another admin can.", code="self"
                )
            _refuse_last_admin(user, "deactivated")
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_append(
            action=AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
            now=now,
            actor=actor,
            target=user,
            ip=ip,
            details={"username": user.get_username()},
        )
    return True


def user_deactivate(*, user: Any, actor: Any, now: datetime, ip: str | None = None) -> bool:
    """Stop ``user`` from signing in (their sessions end at their next request). Returns False
    when already inactive. Raises ``ValidationError`` for oneself or the last active admin."""
    return _active_set(user=user, active=False, actor=actor, now=now, ip=ip)


def user_reactivate(*, user: Any, actor: Any, now: datetime, ip: str | None = None) -> bool:
    """Let a deactivated user sign in again. Returns False when already active."""
    return _active_set(user=user, active=True, actor=actor, now=now, ip=ip)


def user_unlock(
    *, user: Any, actor: Any, now: datetime, actor_label: str = "", ip: str | None = None
) -> bool:
    """Clear ``user``'s failed sign-ins (django-axes) and wrong answers at Reveal. Returns
    False when there was nothing to clear. Raises ``ValidationError`` when an admin tries to
    unlock their own reveals (the limit exists for a session in the wrong hands)."""
    if actor is not None and user.pk == actor.pk:
        raise ValidationError("Another admin must unlock your account.", code="self")
    with transaction.atomic():
        user = _locked_user(user)
        failures = reveal_failures(user=user, now=now)
        sign_in_attempts = axes_reset(username=user.get_username())
        if not failures and not sign_in_attempts:
            return False
        audit_append(
            action=AuditAction.USER_UNLOCKED,
            now=now,
            actor=actor,
            actor_label=actor_label,
            target=user,
            ip=ip,
            details={
                "username": user.get_username(),
                "sign_in_attempts": sign_in_attempts,
                "reveal_failures": failures,
            },
        )
    return True


def user_mfa_reset(*, actor: Any, user: Any, now: datetime, ip: str | None = None) -> bool:
    """Delete every second factor of ``user`` (authenticator app, recovery codes): for someone
    who lost their phone. When their role requires MFA they enrol again at their next page.
    Returns False when they had none. Raises ``ValidationError`` for oneself: one's own second
    factor is turned off from the account page, which asks for it first."""
    if actor is not None and user.pk == actor.pk:
        raise ValidationError(
            "You cannot reset your own two-factor authentication here; turn it off from your "
            "account page, or ask another admin.",
            code="self",
        )
    with transaction.atomic():
        user = _locked_user(user)
        kinds = sorted(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))
        if not kinds:
            return False
        Authenticator.objects.filter(user_id=user.pk).delete()
        audit_append(
            action=AuditAction.USER_MFA_RESET,
            now=now,
            actor=actor,
            target=user,
            ip=ip,
            details={"username": user.get_username(), "removed": kinds},
        )
    return True
