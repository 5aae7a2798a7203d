"""The second factor (django-allauth's ``allauth.mfa``: an authenticator app (TOTP), security keys
and passkeys (WebAuthn), and recovery codes).

Who must have one (``KEYVAULT_REQUIRE_MFA``: admins, all, none), the gate that sends such a user
to enrol before any other page, the rule that keeps the last factor such a user has, and the
check of a code or of a security key's answer when a reveal re-authenticates. The
audit of enrolment, removal and new recovery codes is in ``keyvault.audit.receivers``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
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


#: An authenticator app (TOTP), and a security key or passkey (WebAuthn).
TOTP = Authenticator.Type.TOTP
SECURITY_KEY = Authenticator.Type.WEBAUTHN
#: The second factors that answer with a typed code.
CODE_TYPES = (TOTP, Authenticator.Type.RECOVERY_CODES)
#: The second factors that stand on their own (recovery codes only back them up).
FACTOR_TYPES = (TOTP, SECURITY_KEY)


def mfa_types(user: Any) -> set[str]:
    """The kinds of second factor ``user`` has (``totp``, ``webauthn``, ``recovery_codes``)."""
    return set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))


def user_has_mfa(user: Any) -> bool:
    """Whether ``user`` has a second factor: an authenticator app or a security key (recovery
    codes come with either)."""
    return Authenticator.objects.filter(user_id=user.pk).exists()


def required_for(user: Any) -> bool:
    """Whether ``user``'s role must have a second factor under ``KEYVAULT_REQUIRE_MFA``."""
    return mfa_required(role=user_role(user), policy=MfaPolicy(settings.KEYVAULT_REQUIRE_MFA))


def factor_removable(*, required: bool, factor_count: int) -> bool:
    """Whether one of a user's ``factor_count`` authenticator apps and security keys may go:
    always, unless their role requires a second factor and it is the last one."""
    return not required or factor_count > 1


@sensitive_variables("code")
def code_confirm(*, user: Any, code: str) -> bool:
    """True when ``code`` is a current TOTP code or an unused recovery code of ``user`` (a
    recovery code is used up by this)."""
    code = code.strip().replace(" ", "")
    if not code:
        return False
    authenticators = Authenticator.objects.filter(user_id=user.pk, type__in=CODE_TYPES)
    return any(authenticator.wrap().validate_code(code) for authenticator in authenticators)


def security_key_challenge(*, user: Any) -> dict[str, Any]:
    """A new WebAuthn challenge for ``user``'s security keys, for the browser's
    ``navigator.credentials.get``. It is kept in the session until answered: only the last one
    asked for can be answered (a second tab's challenge replaces the first's)."""
    return webauthn_auth.begin_authentication(user)


def security_key_confirm(*, user: Any, credential: Any) -> bool:
    """True when ``credential`` (the browser's answer, parsed from JSON) signs the session's
    challenge with one of ``user``'s security keys; the challenge is used up either way."""
    if not isinstance(credential, dict):
        webauthn_auth.clear_state()
        return False
    try:
        webauthn_auth.parse_authentication_response(credential)
        authenticator = webauthn_auth.complete_authentication(user, credential)
    except (ValidationError, ValueError, TypeError, KeyError):
        webauthn_auth.clear_state()
        return False
    authenticator.record_usage()
    return True


def may_remove_factor(authenticator: Any) -> bool:
    """Whether ``authenticator`` (an app or a key) may be removed by its own user
    (``factor_removable``)."""
    user = authenticator.user
    count = Authenticator.objects.filter(user_id=user.pk, type__in=FACTOR_TYPES).count()
    return factor_removable(required=required_for(user), factor_count=count)


def keeps_required_factor(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap allauth's removal of a security key so that the last second factor of a user who
    must have one is refused (allauth asks the adapter only when an authenticator app is
    turned off)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        authenticator = Authenticator.objects.filter(
            pk=pk, user_id=request.user.pk, type=Authenticator.Type.WEBAUTHN
        ).first()
        if authenticator is not None and not may_remove_factor(authenticator):
            messages.error(request, LAST_FACTOR_REFUSED)
            return redirect("keyvault:account")
        return view(request, pk=pk, **kwargs)

    return wrapper


#: Why the last second factor of someone whose role requires one stays.
LAST_FACTOR_REFUSED = (
    "Your role requires a second factor: add another authenticator app or security key before "
    "you remove this one."
)


#: Pages a user who must enrol can still open: enrolment itself (and the re-authentication it
#: may ask for), the recovery codes it shows, signing in and out, and the unauthenticated ones.
ENROL_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_reauthenticate_webauthn",
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
    return required_for(user) and not user_has_mfa(user)


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
            "authenticator app or a security key before you continue.",
        )
        return redirect("mfa_activate_totp")


def own_mfa(*, user: Any) -> dict[str, Any]:
    """What the account page says about ``user``'s second factor: ``on`` (an authenticator app
    or a security key), ``totp`` (on or off), ``security_keys`` (their ``Authenticator`` rows,
    oldest first), ``can_remove`` (whether one of them may go: not the last one while
    ``required``), ``recovery_codes_left`` (None without codes), ``required`` (by
    ``KEYVAULT_REQUIRE_MFA``) and ``sso_only`` (no keyvault password: the identity provider's
    second factor applies)."""
    authenticators = list(Authenticator.objects.filter(user_id=user.pk).order_by("created_at"))
    types = {a.type for a in authenticators}
    codes = next((a for a in authenticators if a.type == Authenticator.Type.RECOVERY_CODES), None)
    factors = [a for a in authenticators if a.type in FACTOR_TYPES]
    required = required_for(user)
    return {
        "on": bool(factors),
        "totp": Authenticator.Type.TOTP in types,
        "security_keys": [a for a in factors if a.type == Authenticator.Type.WEBAUTHN],
        "can_remove": factor_removable(required=required, factor_count=len(factors)),
        "recovery_codes_left": len(codes.wrap().get_unused_codes()) if codes else None,
        "required": required,
        "sso_only": not user.has_usable_password(),
    }
