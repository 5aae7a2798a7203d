"""schemathesis against keyvault's own ``/api/schema/``: every operation, generated requests
(valid and not), stateless checks: no 5xx, status codes, content types, headers and bodies as
the schema says.

Calls go through the WSGI app in this process (same test database) with an admin's token of
every scope. Half the generated ids are replaced with ids that exist, so the checks see the
operations succeed as well as answer 404.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import ReminderStatus
from keyvault.wsgi import application
from tests.api.conftest import MakeToken
from tests.factories import MakeCredential, email_channel_make, reminder_make

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _connection_kept_across_requests() -> Iterator[None]:
    """Django's WSGI handler closes the database connection after each request; the test's
    transaction lives on that connection. Django's own test client detaches the same two
    receivers for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(make_credential: MakeCredential) -> dict[str, Any]:
    credential, _ = make_credential(name="Schemathesis — acme (Okta SCIM)")
    channel = email_channel_make(name="schemathesis mail", recipients="ops@example.com")
    reminder = reminder_make(
        credential=credential, channel=channel, status=ReminderStatus.FAILED, attempts=8
    )
    return {
        "integration_id": str(credential.integration_id),
        "credential_id": str(credential.pk),
        "reminder_id": reminder.pk,
    }


def _use_known_ids(case: Any, known: dict[str, Any]) -> None:
    for name, value in (case.path_parameters or {}).items():
        if name in known and hash(str(value)) % 2 == 0:
            case.path_parameters[name] = known[name]


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("KEYVAULT_SCHEMATHESIS_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(
    case: Any, make_token: MakeToken, known_ids: dict[str, Any]
) -> None:
    _, raw = make_token(name="schemathesis")
    _use_known_ids(case, known_ids)
    case.call_and_validate(headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)
