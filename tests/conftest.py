"""Shared fixtures: users in each role, signed-in clients, the credential factory bound to the
admin, the local Slack and SMTP stubs that stand in for the outside world, and a real OpenID
provider."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from keyvault.accounts.services import user_create
from keyvault.accounts.sso_settings import (
    DEFAULT_SCOPES,
    csp_form_action,
    socialaccount_providers,
)
from keyvault.models import Credential, Integration, Role
from tests.factories import PASSWORD, MakeCredential, credential_make, new_token
from tests.oidc_provider import ADMIN_GROUP, AUDITOR_GROUP, OidcProvider
from tests.scim_server import ScimServer
from tests.stubs import SlackStub, SmtpStub


@pytest.fixture(autouse=True)
def _own_checkpoint_file(settings: Any, tmp_path: Path) -> None:
    """Each test starts with an empty audit checkpoint file, as it starts with an empty
    database: checkpoints of an earlier test's log would not match this one's."""
    settings.KEYVAULT_AUDIT_CHECKPOINT_FILE = str(tmp_path / "audit-checkpoints.jsonl")


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


@pytest.fixture
def make_credential(db: Any, admin_user: Any) -> MakeCredential:
    """``credential_make`` with the admin as the actor (see ``tests.factories``)."""

    def make(**kwargs: Any) -> tuple[Credential, str]:
        return credential_make(actor=admin_user, **kwargs)

    return make


@pytest.fixture
def integration(make_credential: MakeCredential) -> Integration:
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


@pytest.fixture
def scim(settings: Any) -> Iterator[ScimServer]:
    """A real SCIM server (scim2-server) over HTTPS on 127.0.0.1 that accepts one bearer token,
    ``scim.token``; live checks may call it (127.0.0.1 allowed, its certificate trusted)."""
    with ScimServer(tokens=[new_token()]) as server:
        settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
        settings.KEYVAULT_CHECK_CA_FILE = server.ca_file
        yield server


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcProvider]:
    """oidc-provider-mock on 127.0.0.1, one for the session (each test uses its own users)."""
    with OidcProvider() as server:
        yield server


#: The identity provider's name on the sign-in page in SSO tests.
SSO_NAME = "Acme ID"


@pytest.fixture
def idp(oidc_server: OidcProvider, settings: Any) -> OidcProvider:
    """SSO configured against the real provider, its groups mapped to keyvault's roles."""
    settings.KEYVAULT_OIDC_ISSUER = oidc_server.issuer
    settings.KEYVAULT_OIDC_NAME = SSO_NAME
    settings.KEYVAULT_OIDC_ADMIN_GROUPS = [ADMIN_GROUP]
    settings.KEYVAULT_OIDC_AUDITOR_GROUPS = [AUDITOR_GROUP]
    settings.KEYVAULT_OIDC_GROUPS_CLAIM = "groups"
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers(
        issuer=oidc_server.issuer,
        client_id="keyvault-test",
        secret="test-client-secret",
        name=SSO_NAME,
        scopes=DEFAULT_SCOPES,
    )
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] += csp_form_action(oidc_server.issuer)
    settings.CONTENT_SECURITY_POLICY = policy
    return oidc_server
