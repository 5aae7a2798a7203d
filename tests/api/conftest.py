"""Fixtures of the API tests: tokens made through the token service, and clients sending them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from keyvault.api.models import ApiToken, Scope
from keyvault.api.tokens import api_token_create
from keyvault.models import Role

MakeToken = Callable[..., tuple[ApiToken, str]]


def role_set(user: Any, role: str) -> None:
    """Put ``user`` in ``role`` ("admin", "auditor" or "no_role") as an admin would."""
    user.groups.clear()
    if role != "no_role":
        user.groups.add(Group.objects.get_or_create(name=Role(role).value)[0])
    if hasattr(user, "_keyvault_groups"):
        del user._keyvault_groups


@pytest.fixture
def make_token(admin_user: Any) -> MakeToken:
    """``(token, plaintext)`` for ``user`` (default: the admin) with ``scopes``; made while the
    user is an admin, then ``role`` applied (how a token outlives a demotion)."""

    def make(
        *,
        user: Any = None,
        scopes: Iterable[str] = (Scope.READ, Scope.WRITE, Scope.REVEAL),
        role: str | None = None,
        name: str = "matrix",
        now: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        user = user or admin_user
        if role is not None:
            role_set(user, "admin")
        token, raw = api_token_create(
            user=user,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            actor=user,
            now=now or timezone.now(),
        )
        if role is not None:
            role_set(user, role)
        return token, raw

    return make


def bearer(raw: str) -> Client:
    """A client that sends ``raw`` as its bearer token on every request."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def api(make_token: MakeToken) -> Client:
    """The admin's client with a token of every scope."""
    _, raw = make_token()
    return bearer(raw)
