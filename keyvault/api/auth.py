"""Who is calling the API: bearer tokens only (no session, so no CSRF question), and what a
token may do: its owner's role, narrowed by its scopes.

Each API view maps its methods to the scope they need (``scopes``): ``read`` needs a role that
may read (admin or auditor), ``write`` and ``reveal`` need an admin. A method without a scope is
not offered (405 once the token is accepted).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from keyvault.api.models import ApiToken, Scope
from keyvault.api.tokens import api_token_authenticate
from keyvault.web.roles import is_admin, is_viewer

BEARER = "Bearer"


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer kv_…``; a request without that header is anonymous (then 401)."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != BEARER.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send one token: Authorization: Bearer <token>.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("This token is not valid.") from None
        token = api_token_authenticate(raw=raw, now=timezone.now())
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This token is not valid: unknown, revoked or expired, or its owner was"
                " deactivated."
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{BEARER} realm="keyvault"'


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token (kv_…)."}


def scope_allows(user: Any, scope: str) -> bool:
    """Whether ``user``'s role permits ``scope`` (checked at each use, not only at creation)."""
    return is_viewer(user) if scope == Scope.READ else is_admin(user)


class TokenScopePermission(BasePermission):
    """The method's scope must be on the token and allowed by its owner's role. The scope that
    let the request through is kept on it (``request.api_scope``) for the audit of its use."""

    message = "This token may not do that."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated("Send an API token: Authorization: Bearer <token>.")
        scope = getattr(view, "scopes", {}).get(request.method)
        if scope is None:
            return True  # the method is not offered: the view answers 405
        if scope not in token.scope_set:
            self.message = f"This token lacks the “{scope}” scope."
            return False
        if not scope_allows(request.user, scope):
            self.message = f"Your role does not allow the “{scope}” scope."
            return False
        request.api_scope = scope  # type: ignore[attr-defined]
        return True
