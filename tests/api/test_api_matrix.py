"""Every API URL , method , the owner's role , the token's scopes, generated from the URL conf.

A call gets through when the method is offered, the token holds the method's scope and the
owner's role (read at each call) allows it: ``read`` for admins and auditors, ``write`` and
``reveal`` for admins. Otherwise: no token, a deactivated owner → 401; a missing scope or a role
that does not allow it → 403; a method not offered → 405. A refused call leaves no trace, and
each call let through by a write or reveal scope is audited.
"""

from __future__ import annotations

import itertools
import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from alerts.models import Reminder
from keyvault.api.models import Scope
from keyvault.models import AuditAction, AuditEvent, Credential, Integration
from tests.api.conftest import MakeToken, bearer
from tests.api.routes import API_ROUTES, METHODS, ApiWorld
from tests.factories import MakeCredential

ROLES = ("admin", "auditor", "no_role")
SCOPE_SETS = ((Scope.READ,), (Scope.WRITE,), (Scope.REVEAL,), tuple(Scope.values))
#: Callers that are not a live token of some role: nothing gets through.
UNAUTHENTICATED = ("no_token", "deactivated_owner", "revoked_token", "expired_token")


def _walk(resolver: URLResolver, prefix: str = "") -> list[str]:
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names += _walk(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(f"{prefix}{entry.name}")
    return names


def api_url_names() -> set[str]:
    return {name for name in _walk(get_resolver()) if name.startswith("api:")}


def test_every_api_url_has_a_row() -> None:
    missing = sorted(api_url_names() - API_ROUTES.keys())
    assert not missing, f"add a row to tests/api/routes.py API_ROUTES for: {', '.join(missing)}"


def test_every_api_row_names_a_url_that_exists() -> None:
    assert not sorted(API_ROUTES.keys() - api_url_names())


CALLERS = [
    *((role, scopes) for role, scopes in itertools.product(ROLES, SCOPE_SETS)),
    *((caller, tuple(Scope.values)) for caller in UNAUTHENTICATED),
]
CASES = [
    (name, method, role, scopes)
    for name in sorted(api_url_names() | API_ROUTES.keys())
    for method in METHODS
    for role, scopes in CALLERS
]


@pytest.fixture
def world(make_credential: MakeCredential) -> ApiWorld:
    credential, _ = make_credential(name="API matrix — acme (Okta SCIM)")
    return ApiWorld(integration=credential.integration, credential=credential)


def _client(make_token: MakeToken, caller: str, scopes: tuple[str, ...]) -> Client:
    if caller == "no_token":
        return Client()
    if caller in ROLES:
        return bearer(make_token(scopes=scopes, role=caller)[1])
    token, raw = make_token(scopes=scopes)
    if caller == "deactivated_owner":
        token.user.is_active = False
        token.user.save(update_fields=["is_active"])
    elif caller == "revoked_token":
        type(token).objects.filter(pk=token.pk).update(revoked_at=token.created_at)
    else:
        type(token).objects.filter(pk=token.pk).update(expires_at=token.created_at)
    return bearer(raw)


def expected(name: str, method: str, caller: str, scopes: tuple[str, ...]) -> int:
    route = API_ROUTES[name]
    if route.not_found:
        return 404
    if route.public:
        return 200 if method in route.scopes else 405
    if caller not in ROLES:
        return 401
    needed = route.scopes.get(method)
    if needed is None:
        return 405
    allowed = (needed == Scope.READ and caller != "no_role") or caller == "admin"
    if needed not in scopes or not allowed:
        return 403
    return route.ok_status.get(method, 200)


def _trace() -> tuple[int, ...]:
    return (
        Integration.objects.count(),
        Credential.objects.count(),
        AuditEvent.objects.count(),
        Reminder.objects.filter(status="pending").count(),
    )


@pytest.mark.parametrize(("name", "method", "caller", "scopes"), CASES)
def test_api_matrix(
    world: ApiWorld,
    make_token: MakeToken,
    name: str,
    method: str,
    caller: str,
    scopes: tuple[str, ...],
) -> None:
    route = API_ROUTES.get(name)
    assert route is not None, f"{name} has no row in tests/api/routes.py: decide its scope"
    url = route.url(world)
    client = _client(make_token, caller, scopes)
    body = route.bodies[method](world) if method in route.bodies else {}
    before, last_seq = _trace(), AuditEvent.objects.order_by("-seq").values_list("seq").first()

    response = client.generic(method, url, json.dumps(body), content_type="application/json")

    want = expected(name, method, caller, scopes)
    assert response.status_code == want, (name, method, caller, scopes, response.content[:300])
    if want in (401, 403, 404, 405):
        assert response["Content-Type"] == "application/problem+json"
        assert _trace() == before, "a refused call left a trace"
    new_actions = list(
        AuditEvent.objects.filter(seq__gt=last_seq[0] if last_seq else 0).values_list(
            "action", flat=True
        )
    )
    needed = route.scopes.get(method)
    if want < 400 and needed in (Scope.WRITE, Scope.REVEAL):
        assert AuditAction.API_REQUEST in new_actions, "a write or reveal call was not audited"
    if want >= 400 or needed not in (Scope.WRITE, Scope.REVEAL):
        assert AuditAction.API_REQUEST not in new_actions
