"""Reads for the users page and the account page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from keyvault.accounts.throttle import (
    locked_usernames,
    reveal_attempts_left,
    sign_in_locked,
)
from keyvault.models import AuditAction, AuditEvent, Role

# django-allauth's models, looked up only when their apps are installed.
_SOCIAL_ACCOUNT_MODEL = "socialaccount.SocialAccount"
_AUTHENTICATOR_MODEL = "mfa.Authenticator"
#: Own sign-ins and failed sign-ins shown on the account page.
RECENT_SIGN_INS = 10


class SignInMethod(models.TextChoices):
    """How a user signs in, as the users page says it."""

    PASSWORD = "password", "Password"
    SSO = "sso", "SSO"
    PASSWORD_AND_SSO = "password_sso", "Password and SSO"
    INVITED = "invited", "Invited, no password yet"


def user_role(user: Any) -> Role | None:
    """The user's role: admin for a superuser or a member of ``admin``, auditor for a member
    of ``auditor``, otherwise None. Reads the groups already loaded when they were
    prefetched."""
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    if Role.ADMIN.value in names:
        return Role.ADMIN
    if Role.AUDITOR.value in names:
        return Role.AUDITOR
    return None


def sso_user_ids() -> set[int]:
    """Ids of users linked to an identity provider (an allauth ``SocialAccount``); empty while
    SSO is not installed."""
    if not apps.is_installed("allauth.socialaccount"):
        return set()
    social_account = apps.get_model(_SOCIAL_ACCOUNT_MODEL)
    return set(social_account.objects.values_list("user_id", flat=True))


def mfa_user_ids() -> set[int] | None:
    """Ids of users with a second factor (an allauth.mfa ``Authenticator``); None while MFA is
    not installed (the page then shows nothing rather than a guess)."""
    if not apps.is_installed("allauth.mfa"):
        return None
    authenticator = apps.get_model(_AUTHENTICATOR_MODEL)
    return set(authenticator.objects.values_list("user_id", flat=True))


def sign_in_method(user: Any, *, sso_ids: set[int]) -> SignInMethod:
    if user.pk in sso_ids:
        return SignInMethod.PASSWORD_AND_SSO if user.has_usable_password() else SignInMethod.SSO
    if not user.has_usable_password() and user.last_login is None:
        return SignInMethod.INVITED
    return SignInMethod.PASSWORD


@dataclass(frozen=True)
class UserRow:
    user: Any
    role: Role | None
    sign_in: SignInMethod
    mfa: bool | None  # None: MFA is not available, nothing to show
    sign_in_locked: bool
    reveal_attempts_left: int


def _users() -> QuerySet[Any]:
    return get_user_model().objects.prefetch_related("groups")


def user_rows(*, now: datetime) -> list[UserRow]:
    """Every user, active first then by username, with what the users page shows."""
    sso_ids, mfa_ids = sso_user_ids(), mfa_user_ids()
    locked = locked_usernames(now=now)
    users = _users().order_by("-is_active", "username")
    return [
        UserRow(
            user=user,
            role=user_role(user),
            sign_in=sign_in_method(user, sso_ids=sso_ids),
            mfa=None if mfa_ids is None else user.pk in mfa_ids,
            sign_in_locked=user.get_username() in locked,
            reveal_attempts_left=reveal_attempts_left(user=user, now=now),
        )
        for user in users
    ]


def user_get(*, username: str) -> Any:
    """The user called ``username``; raises ``Http404`` when there is none."""
    user = _users().filter(username=username).first()
    if user is None:
        raise Http404("No such user")
    return user


def user_row(*, username: str, now: datetime) -> UserRow:
    """One user as the users page shows them; raises ``Http404`` when there is none."""
    user = user_get(username=username)
    mfa_ids = mfa_user_ids()
    return UserRow(
        user=user,
        role=user_role(user),
        sign_in=sign_in_method(user, sso_ids=sso_user_ids()),
        mfa=None if mfa_ids is None else user.pk in mfa_ids,
        sign_in_locked=sign_in_locked(username=user.get_username(), now=now),
        reveal_attempts_left=reveal_attempts_left(user=user, now=now),
    )


def user_events(*, user: Any, limit: int = 20) -> list[AuditEvent]:
    """The latest audit events about ``user`` (as the target), newest first."""
    return list(
        AuditEvent.objects.filter(target_type="user", target_id=str(user.pk)).order_by("-seq")[
            :limit
        ]
    )


def own_sign_ins(*, user: Any, limit: int = RECENT_SIGN_INS) -> list[AuditEvent]:
    """``user``'s latest sign-ins, sign-outs and failed sign-ins under their username, newest
    first (from the audit log)."""
    signed = AuditEvent.objects.filter(
        actor_id=user.pk, action__in=[AuditAction.LOGIN, AuditAction.LOGOUT]
    ).order_by("-seq")[:limit]
    failed = AuditEvent.objects.filter(
        action=AuditAction.LOGIN_FAILED, actor_label=user.get_username()
    ).order_by("-seq")[:limit]
    return sorted([*signed, *failed], key=lambda event: event.seq, reverse=True)[:limit]
