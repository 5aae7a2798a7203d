"""Single sign-on with OpenID Connect: django-allauth's ``openid_connect`` provider, with this
adapter (``SOCIALACCOUNT_ADAPTER``) deciding who gets in.

At every SSO sign-in the groups claim decides the role (``KEYVAULT_OIDC_ADMIN_GROUPS`` first,
then ``KEYVAULT_OIDC_AUDITOR_GROUPS``): a user removed from a group loses that role then, and a
user in none of them is refused, with the reason on the page. A first sign-in creates the user
(just in time), here in ``pre_social_login`` rather than in allauth's signup flow, so that two
first sign-ins of the same person at once (two tabs) end as one user, both signed in. Each of
these is audited. A re-authentication before a reveal goes through the same checks, then hands
the ID token's ``auth_time`` to ``keyvault.web.reauth``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.utils import user_username
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone

from keyvault.accounts import sso_logout, sso_services
from keyvault.models import Role
from keyvault.web import reauth
from keyvault.web.requestinfo import client_ip

NO_GROUP = (
    "Your {name} account is in none of the groups that give access to keyvault. Ask whoever "
    "runs {name} to add you to keyvault's admin or auditor group, then sign in again."
)
EMAIL_TAKEN = (
    "A keyvault account with the email address {email} exists already and signs in with a "
    "password. Sign in with that password, or ask an admin to remove that account before "
    "signing in with {name}."
)
DEACTIVATED = "Your keyvault account is deactivated. An admin can reactivate it on the users page."
NOT_OFFERED = "keyvault signs people in through the identity provider; it links no accounts."
OTHER_IDENTITY = (
    "You confirmed as another {name} user than the one signed in here. Nothing was revealed."
)
TRY_AGAIN = (
    "Another keyvault account was being created at the same moment and took the name this one "
    "needed. Nothing was saved: sign in with {name} again."
)


def claim_groups(claims: Mapping[str, Any], *, claim: str) -> list[str]:
    """The groups named by ``claim`` in the ID token's claims, else in userinfo's (Entra ID
    puts groups only in the ID token). A string counts as one group (``hd``, ``email``)."""
    for source in (claims.get("id_token"), claims.get("userinfo"), claims):
        if isinstance(source, Mapping) and claim in source:
            value = source[claim]
            if isinstance(value, str):
                return [value]
            if isinstance(value, list):
                return [str(item) for item in value]
            return []
    return []


def role_for_groups(
    groups: Iterable[str], *, admin_groups: Iterable[str], auditor_groups: Iterable[str]
) -> Role | None:
    """Admin when a group is an admin group, else auditor when one is an auditor group, else
    None (no access). Names compare without regard to case."""
    held = {group.casefold() for group in groups}
    if held & {group.casefold() for group in admin_groups if group}:
        return Role.ADMIN
    if held & {group.casefold() for group in auditor_groups if group}:
        return Role.AUDITOR
    return None


def sso_role(sociallogin: SocialLogin) -> Role | None:
    """The role the provider's groups claim gives this sign-in (settings read now)."""
    groups = claim_groups(
        sociallogin.account.extra_data or {}, claim=settings.KEYVAULT_OIDC_GROUPS_CLAIM
    )
    return role_for_groups(
        groups,
        admin_groups=settings.KEYVAULT_OIDC_ADMIN_GROUPS,
        auditor_groups=settings.KEYVAULT_OIDC_AUDITOR_GROUPS,
    )


def _identity_label(sociallogin: SocialLogin) -> str:
    if sociallogin.is_existing and sociallogin.user is not None:
        return str(sociallogin.user.get_username())
    email = sociallogin.email_addresses[0].email if sociallogin.email_addresses else ""
    return email or f"subject {sociallogin.account.uid}"


def _refuse(
    request: HttpRequest, reason: str, *, status: int = 403, audited: bool = True
) -> ImmediateHttpResponse:
    response = render(
        request,
        "accounts/sso_refused.html",
        {"reason": reason, "sso_name": settings.KEYVAULT_OIDC_NAME, "audited": audited},
        status=status,
    )
    return ImmediateHttpResponse(response)


def _made_meanwhile(sociallogin: SocialLogin) -> bool:
    """Look the identity up again: True when a concurrent first sign-in of the same person
    (another tab) has made its user since allauth looked, and this sign-in now stands for
    that user."""
    # A user row this sign-in tried to insert was rolled back: forget its id.
    sociallogin.user.pk = None
    sociallogin.lookup()
    return sociallogin.is_existing


class SsoAdapter(DefaultSocialAccountAdapter):
    """keyvault's rules for sign-ins through the identity provider."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        now = timezone.now()
        ip = client_ip(request)
        name = settings.KEYVAULT_OIDC_NAME
        process = sociallogin.state.get("process")
        if process not in (AuthProcess.LOGIN, AuthProcess.REDIRECT):
            # Linking an identity to a signed-in account is not offered: SSO users are made
            # by their first sign-in.
            sso_services.user_sso_refused(
                label=_identity_label(sociallogin), reason="linking not offered", now=now, ip=ip
            )
            raise _refuse(request, NOT_OFFERED)
        reauthenticating = process == AuthProcess.REDIRECT
        if reauthenticating and (not sociallogin.is_existing or sociallogin.user != request.user):
            sso_services.user_sso_refused(
                label=_identity_label(sociallogin),
                reason=f"confirmed a reveal for {request.user.get_username()} as another user",
                now=now,
                ip=ip,
            )
            raise _refuse(request, OTHER_IDENTITY.format(name=name))
        if sociallogin.is_existing and not sociallogin.user.is_active:
            sso_services.user_sso_refused(
                label=_identity_label(sociallogin), reason="account deactivated", now=now, ip=ip
            )
            raise _refuse(request, DEACTIVATED)
        role = sso_role(sociallogin)
        if sociallogin.is_existing:
            sso_services.user_sso_role_sync(user=sociallogin.user, role=role, now=now, ip=ip)
        if role is None:
            sso_services.user_sso_refused(
                label=_identity_label(sociallogin), reason="in no keyvault group", now=now, ip=ip
            )
            raise _refuse(request, NO_GROUP.format(name=name))
        if not sociallogin.is_existing:
            self._first_sign_in(request, sociallogin, role=role, now=now, ip=ip)
        if reauthenticating:
            reauth.sso_reauth_record(request, sociallogin=sociallogin)
        else:
            sso_logout.end_session_keep(request, sociallogin)

    def _first_sign_in(
        self,
        request: HttpRequest,
        sociallogin: SocialLogin,
        *,
        role: Role,
        now: datetime,
        ip: str | None,
    ) -> None:
        """Create the user of a new identity (allauth then signs them in as an existing user),
        or refuse it when a password account has its email address. When a concurrent first
        sign-in of the same person (another tab) got there first, this one signs in as the
        user it made: no second user, no second ``user.sso_created``."""
        name = settings.KEYVAULT_OIDC_NAME
        email = sociallogin.email_addresses[0].email if sociallogin.email_addresses else ""
        taken = bool(email) and get_user_model().objects.filter(email__iexact=email).exists()
        if not taken:
            try:
                sso_services.user_sso_create(
                    save=functools.partial(self._save_new_user, request, sociallogin),
                    role=role,
                    now=now,
                    ip=ip,
                )
                return
            except IntegrityError:
                pass  # the username or the identity was taken meanwhile; nothing was written
        if _made_meanwhile(sociallogin):
            sso_services.user_sso_role_sync(user=sociallogin.user, role=role, now=now, ip=ip)
            return
        if taken:
            sso_services.user_sso_refused(
                label=email, reason="a password account has that email", now=now, ip=ip
            )
            raise _refuse(request, EMAIL_TAKEN.format(email=email, name=name))
        raise _refuse(request, TRY_AGAIN.format(name=name), status=409, audited=False)

    def _save_new_user(self, request: HttpRequest, sociallogin: SocialLogin) -> Any:
        # As allauth's signup does: a username the provider suggests (preferred_username) is
        # kept only while it is valid and free, else one is made from the name or email.
        user = sociallogin.user
        try:
            get_account_adapter(request).clean_username(user_username(user) or "")
        except ValidationError:
            user_username(user, "")
        return super().save_user(request, sociallogin)

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # Never reached: pre_social_login makes the user, or refuses.
        return False
