"""POST /api/v1/integrations/{id}/archive/ and …/restore/: the pages' services, audited like
the pages; wrong states are 409 problems; ``?archived=true`` lists the archived ones."""

from __future__ import annotations

import uuid
from typing import Any

from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Integration
from keyvault.vault.lifecycle import integration_archive
from tests.api.conftest import MakeToken, bearer
from tests.factories import NOW, MakeCredential


def _url(name: str, integration_id: uuid.UUID) -> str:
    return reverse(f"api:integration_{name}", kwargs={"integration_id": integration_id})


def _listed(client: Client, query: str = "") -> list[str]:
    response = client.get(reverse("api:integrations") + query)
    assert response.status_code == 200, response.content
    return [row["integration"]["name"] for row in response.json()["results"]]


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_archiving_then_restoring_through_the_api_changes_state_audit_and_list(
    api: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    integration = make_credential(name="Legacy wiki")[0].integration
    make_credential(name="Jira")

    archived = api.post(_url("archive", integration.pk))

    assert archived.status_code == 200, archived.content
    body = archived.json()
    assert body["integration"]["id"] == str(integration.pk)
    assert body["integration"]["archived_at"] is not None
    assert body["current"]["state"] == "current"  # its credential and history stay
    integration.refresh_from_db()
    assert integration.archived_at is not None
    (event,) = _events(AuditAction.INTEGRATION_ARCHIVED)
    assert event.actor == admin_user and event.integration_id == integration.pk
    assert len(_events(AuditAction.API_REQUEST)) == 1
    assert _listed(api) == ["Jira"]
    assert _listed(api, "?archived=true") == ["Legacy wiki"]

    restored = api.post(_url("restore", integration.pk))

    assert restored.status_code == 200, restored.content
    assert restored.json()["integration"]["archived_at"] is None
    integration.refresh_from_db()
    assert integration.archived_at is None
    (event,) = _events(AuditAction.INTEGRATION_RESTORED)
    assert event.actor == admin_user and event.integration_id == integration.pk
    assert len(_events(AuditAction.INTEGRATION_ARCHIVED)) == 1
    assert len(_events(AuditAction.API_REQUEST)) == 2
    assert sorted(_listed(api)) == ["Jira", "Legacy wiki"]
    assert _listed(api, "?archived=true") == []


def test_archiving_an_archived_integration_is_a_conflict_and_writes_nothing_but_the_request(
    api: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    integration = make_credential()[0].integration
    integration_archive(integration=integration, actor=admin_user, now=NOW)

    response = api.post(_url("archive", integration.pk))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "This integration is already archived."
    integration.refresh_from_db()
    assert integration.archived_at == NOW
    assert len(_events(AuditAction.INTEGRATION_ARCHIVED)) == 1
    assert [e.details["status"] for e in _events(AuditAction.API_REQUEST)] == [409]


def test_restoring_an_integration_that_is_not_archived_is_a_conflict(
    api: Client, make_credential: MakeCredential
) -> None:
    integration = make_credential()[0].integration

    response = api.post(_url("restore", integration.pk))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert "not archived" in response.json()["detail"]
    assert not _events(AuditAction.INTEGRATION_RESTORED)


def test_an_unknown_integration_is_a_404_problem(api: Client) -> None:
    for name in ("archive", "restore"):
        response = api.post(_url(name, uuid.uuid4()))
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_an_auditors_token_and_a_read_token_cannot_archive_or_restore(
    make_token: MakeToken, make_credential: MakeCredential, auditor_user: Any, admin_user: Any
) -> None:
    integration = make_credential()[0].integration
    archived = make_credential(name="Archived wiki")[0].integration
    integration_archive(integration=archived, actor=admin_user, now=NOW)
    read_only = bearer(make_token(scopes=["read"])[1])
    auditor = bearer(make_token(user=auditor_user, role="auditor")[1])
    before = AuditEvent.objects.count()

    for client in (read_only, auditor):
        assert client.post(_url("archive", integration.pk)).status_code == 403
        assert client.post(_url("restore", archived.pk)).status_code == 403

    assert Integration.objects.get(pk=integration.pk).archived_at is None
    assert Integration.objects.get(pk=archived.pk).archived_at == NOW
    assert AuditEvent.objects.count() == before


def test_the_list_rejects_an_archived_filter_that_is_not_a_boolean(api: Client) -> None:
    response = api.get(reverse("api:integrations") + "?archived=maybe")
    assert response.status_code == 400 and "archived" in response.json()["errors"]
