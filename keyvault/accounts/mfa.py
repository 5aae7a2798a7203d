"""The second factor (django-allauth's ``allauth.mfa``: TOTP and recovery codes).

Who must have one (``KEYVAULT_REQUIRE_MFA``: admins, all, none), the gate that sends such a user
to enrol before any other page, and the check of a code when a reveal re-authenticates. The
audit of enrolment, removal and new recovery codes is in ``keyvault.audit.receivers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_variables

from keyvault.accounts.selectors import user_role
from keyvault.models import Role


class MfaPolicy(models.TextChoices):
    ADMINS = "admins", "Admins must have a second factor"
    ALL = "all", "Everyone must have a second factor"
    NONE = "none", "A second factor is optional"


def mfa_required(*, role: Role | None, policy: MfaPolicy) -> bool:
    """Whether a user in ``role`` must have a second factor under ``policy``."""
    if policy == MfaPolicy.ALL:
        return True
    return policy == MfaPolicy.ADMINS and role == Role.ADMIN


def user_has_mfa(user: Any) -> bool:
    """Whether ``user`` has a second factor that takes a typed code (TOTP, recovery codes)."""
    return Authenticator.objects.filter(
        user_id=user.pk,
        type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES],
    ).exists()


@sensitive_variables("code")
def code_confirm(*, user: Any, code: str) -> bool:
    """True when ``code`` is a current TOTP code or an unused recovery code of ``user`` (a
    recovery code is used up by this)."""
    code = code.strip().replace(" ", "")
    if not code:
        return False
    authenticators = Authenticator.objects.filter(
        user_id=user.pk,
        type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES],
    )
    return any(authenticator.wrap().validate_code(code) for authenticator in authenticators)


#: Pages a user who must enrol can still open: enrolment itself (and the re-authentication it
#: may ask for), the recovery codes it shows, signing in and out, and the unauthenticated ones.
ENROL_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_view_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_login",
        "account_logout",
        "healthz",
        "metrics",
    }
)


def must_enrol(*, user: Any, policy: MfaPolicy) -> bool:
    """Whether ``user`` must set up a keyvault second factor before anything else.

    Only users with a keyvault password: someone who signs in only through the identity
    provider has the provider's second factor (and no password to confirm an enrolment with).
    """
    if policy == MfaPolicy.NONE or not user.has_usable_password():
        return False
    return mfa_required(role=user_role(user), policy=policy) and not user_has_mfa(user)


class RequireMFAMiddleware:
    """Send a signed-in user who must have a second factor and has none to enrol first.

    The REST API (bearer tokens, no session) is not gated; its tokens carry their own scope.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        policy = MfaPolicy(settings.KEYVAULT_REQUIRE_MFA)
        user = request.user
        match = request.resolver_match
        if policy == MfaPolicy.NONE or not user.is_authenticated or match is None:
            return None
        if match.url_name in ENROL_URL_NAMES or match.namespace == "api":
            return None
        if not must_enrol(user=user, policy=policy):
            return None
        messages.warning(
            request,
            "keyvault requires two-factor authentication for your account: set up an "
            "authenticator app before you continue.",
        )
        return redirect("mfa_activate_totp")


def own_mfa(*, user: Any) -> dict[str, Any]:
    """What the account page says about ``user``'s second factor: ``totp`` (on or off),
    ``recovery_codes_left`` (None without codes), ``required`` (by ``KEYVAULT_REQUIRE_MFA``) and
    ``sso_only`` (no keyvault password: the identity provider's second factor applies)."""
    by_type = {a.type: a for a in Authenticator.objects.filter(user_id=user.pk)}
    codes = by_type.get(Authenticator.Type.RECOVERY_CODES)
    return {
        "totp": Authenticator.Type.TOTP in by_type,
        "recovery_codes_left": len(codes.wrap().get_unused_codes()) if codes else None,
        "required": mfa_required(
            role=user_role(user), policy=MfaPolicy(settings.KEYVAULT_REQUIRE_MFA)
        ),
        "sso_only": not user.has_usable_password(),
    }
