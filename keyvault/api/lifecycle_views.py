"""The API's corrections to a credential's life: its dates (the same service as the page,
``keyvault.vault.lifecycle``), audited like the page and as a write-scope request."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from keyvault.api import serializers as s
from keyvault.api.models import Scope
from keyvault.api.problems import problem_response
from keyvault.api.views import ERRORS, ApiView
from keyvault.models import CredentialState
from keyvault.vault import lifecycle
from keyvault.vault.selectors import credential_facts, credential_get


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
