"""Shared fixtures: users in each role, signed-in clients, a small credential factory, and the
local Slack and SMTP stubs that stand in for the outside world."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from keyvault.accounts.services import user_create
from keyvault.models import Credential, Integration, Role
from keyvault.vault.providers import ProviderKind
from keyvault.vault.services import integration_create, secret_input_clean
from tests.stubs import SlackStub, SmtpStub

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ATLASSIAN_URL = "https://api.atlassian.com/scim/directory/0f6a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture
def admin_user(db: Any) -> Any:
    return user_create(username="alice", password=PASSWORD, role=Role.ADMIN)


@pytest.fixture
def auditor_user(db: Any) -> Any:
    return user_create(username="carol", password=PASSWORD, role=Role.AUDITOR)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def auditor_client(auditor_user: Any) -> Client:
    client = Client()
    client.force_login(auditor_user)
    return client


def new_token() -> str:
    """A realistic Atlassian-like token: long, random, URL-safe."""
    return "ATATT3x" + secrets.token_urlsafe(48)


_names = itertools.count(1)


@pytest.fixture
def make_credential(db: Any, admin_user: Any) -> Callable[..., tuple[Credential, str]]:
    """Create an integration with a current credential through the service layer.

    Returns ``(credential, token)`` so tests can look for the plaintext where it must not be.
    """

    def make(
        *,
        name: str | None = None,
        provider: str = ProviderKind.ATLASSIAN,
        scim_url: str = ATLASSIAN_URL,
        token: str | None = None,
        issued_at: datetime = NOW,
        expires_at: datetime | None = None,
        now: datetime = NOW,
        **fields: Any,
    ) -> tuple[Credential, str]:
        token = token or new_token()
        secret = secret_input_clean(
            provider=provider,
            scim_url=scim_url,
            token=token,
            issued_at=issued_at,
            expires_at=expires_at,
        )
        _, credential = integration_create(
            fields={"name": name or f"Integration {next(_names)}", "provider": provider, **fields},
            secret=secret,
            actor=admin_user,
            now=now,
        )
        return credential, token

    return make


@pytest.fixture
def integration(make_credential: Callable[..., tuple[Credential, str]]) -> Integration:
    credential, _ = make_credential(name="Atlassian Cloud — acme (Okta SCIM)")
    return credential.integration


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub() as stub:
        yield stub


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpStub]:
    """The SMTP stub, with this process's email settings pointing at it."""
    with SmtpStub() as stub:
        for name, value in stub.settings().items():
            setattr(settings, name, value)
        yield stub
