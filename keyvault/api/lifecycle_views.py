"""The API's corrections to an integration's life: its current credential's dates, and
archiving or restoring the integration. The same services as the pages
(``keyvault.vault.lifecycle``), audited like the pages and as write-scope requests."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from keyvault.api import serializers as s
from keyvault.api.models import Scope
from keyvault.api.problems import PROBLEM_CONTENT_TYPE, problem_response
from keyvault.api.views import ERRORS, ApiView, ProblemSerializer, detail_data
from keyvault.models import CredentialState
from keyvault.vault import lifecycle
from keyvault.vault.selectors import credential_facts, credential_get, integration_get


class CredentialDatesView(ApiView):
    scopes = {"POST": Scope.WRITE}

    @extend_schema(
        request=s.CorrectDatesSerializer,
        responses={200: s.CredentialSerializer, **ERRORS},
        operation_id="credential_correct_dates",
        summary="Correct the issue and expiry dates of the current credential (audited)",
    )
    def post(self, request: Request, credential_id: uuid.UUID) -> Response:
        credential = credential_get(credential_id=credential_id)
        payload = s.CorrectDatesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if credential.state != CredentialState.CURRENT:
            return problem_response(
                status=409, detail="Only the current credential's dates can be corrected."
            )
        data = payload.validated_data
        result = lifecycle.credential_dates_correct(
            actor=request.user,
            credential=credential,
            issued_at=data.get("issued_at", credential.issued_at),
            expires_at=data.get("expires_at", credential.expires_at),
            reason=data["reason"],
            now=self.now,
            ip=self.ip(),
        )
        return Response(s.facts_data(credential_facts(credential=result.credential, now=self.now)))


def _conflict(description: str) -> dict[Any, OpenApiResponse]:
    """``ERRORS`` with the 409 described as this endpoint's wrong state."""
    return {
        **ERRORS,
        (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=f"{description} (problem details, RFC 9457)"
        ),
    }


class _ArchiveSetView(ApiView):
    """Archive (``archive``) or restore an integration with the page's service; a 409 problem
    when it is already so (the service itself would leave it as it is)."""

    scopes = {"POST": Scope.WRITE}
    archive: bool
    wrong_state: str

    def archive_set(self, request: Request, integration_id: uuid.UUID) -> Response:
        integration = integration_get(integration_id=integration_id)
        if (integration.archived_at is not None) == self.archive:
            return problem_response(status=409, detail=self.wrong_state)
        service = lifecycle.integration_archive if self.archive else lifecycle.integration_restore
        service(integration=integration, actor=request.user, now=self.now, ip=self.ip())
        return Response(detail_data(integration.pk, now=self.now))


class IntegrationArchiveView(_ArchiveSetView):
    archive = True
    wrong_state = "This integration is already archived."

    @extend_schema(
        request=None,
        responses={200: s.IntegrationDetailSerializer, **_conflict("Already archived")},
        operation_id="integration_archive",
        summary="Archive an integration: no more reminders, checks or notices; history kept "
        "(audited)",
    )
    def post(self, request: Request, integration_id: uuid.UUID) -> Response:
        return self.archive_set(request, integration_id)


class IntegrationRestoreView(_ArchiveSetView):
    archive = False
    wrong_state = "This integration is not archived: there is nothing to restore."

    @extend_schema(
        request=None,
        responses={200: s.IntegrationDetailSerializer, **_conflict("Not archived")},
        operation_id="integration_restore",
        summary="Restore an archived integration: tracked and reminded again (audited)",
    )
    def post(self, request: Request, integration_id: uuid.UUID) -> Response:
        return self.archive_set(request, integration_id)
