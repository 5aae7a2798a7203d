"""The API's integrations and credentials: list, detail, create, edit; add, rotate, revoke and
reveal a credential.

Each view: the token's scope and role (``keyvault.api.auth``) → a serializer for the shape →
one service (the same ones the pages call) → a response without secrets. Service errors come
back as problem details keyed by field (``keyvault.api.problems``). Every request let through
by a ``write`` or ``reveal`` scope is audited, whatever its outcome (``ApiView``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keyvault.api import selectors as api_selectors
from keyvault.api import serializers as s
from keyvault.api.auth import BearerTokenAuthentication, TokenScopePermission
from keyvault.api.models import Scope
from keyvault.api.problems import PROBLEM_CONTENT_TYPE, problem_response
from keyvault.api.tokens import api_request_record
from keyvault.rotation import selectors as rotation_selectors
from keyvault.rotation import services as rotation_services
from keyvault.rotation.idp import idp_answer
from keyvault.vault import credentials, services
from keyvault.vault import selectors as vault_selectors
from keyvault.vault.providers import IdentityProvider, ProviderKind
from keyvault.vault.selectors import SEARCH_MAX_LENGTH, credential_facts
from keyvault.web.requestinfo import client_ip


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field name → messages (`__all__`: the request as a whole)",
    )


PROBLEM = OpenApiResponse(ProblemSerializer, description="Problem details (RFC 9457)")
ERRORS: dict[Any, OpenApiResponse] = {
    (status, PROBLEM_CONTENT_TYPE): PROBLEM for status in (400, 401, 403, 404, 409)
}
AUDITED_SCOPES = (Scope.WRITE, Scope.REVEAL)


class ApiView(APIView):
    """Bearer tokens, scope per method (``scopes``), one ``now`` per request."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [TokenScopePermission]
    scopes: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.now = timezone.now()
        super().initial(request, *args, **kwargs)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        scope = getattr(request, "api_scope", None)
        if scope in AUDITED_SCOPES:
            api_request_record(
                token=request.auth,
                scope=scope,
                method=request.method or "",
                path=request.path,
                status=response.status_code,
                now=getattr(self, "now", None) or timezone.now(),
                ip=client_ip(request),
            )
        return response

    def ip(self) -> str | None:
        return client_ip(self.request)


@login_not_required
@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Any path under ``/api/`` that names no endpoint, whatever the method."""
    body = {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "There is no API endpoint at this path; see /api/schema/.",
    }
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


def _nested(prefix: str, exc: ValidationError) -> ValidationError:
    """``exc`` with its field names under ``prefix`` (``credential.token``)."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {(k if k == "__all__" else f"{prefix}.{k}"): v for k, v in exc.error_dict.items()}
    )


class LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=api_selectors.MAX_PAGE_SIZE,
        default=api_selectors.PAGE_SIZE,
    )


class CursorSerializer(LimitSerializer):
    cursor = serializers.CharField(
        required=False, max_length=1000, help_text="The `next` of the previous page"
    )


class IntegrationQuerySerializer(CursorSerializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH, help_text="Search"
    )
    provider = serializers.ChoiceField(choices=ProviderKind.choices, required=False)
    identity_provider = serializers.ChoiceField(choices=IdentityProvider.choices, required=False)
    expires_before = serializers.DateTimeField(
        required=False, help_text="Only those whose current credential expires before this"
    )
    archived = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: only archived integrations (left out otherwise)",
    )


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated query parameters (400 problem details when not valid)."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def detail_data(integration_id: uuid.UUID, *, now: Any) -> dict[str, Any]:
    detail = vault_selectors.integration_detail(integration_id=integration_id, now=now)
    return {
        "integration": s.integration_data(detail.integration),
        "current": s.facts_data(detail.current),
        "versions": [s.facts_data(v) for v in detail.versions],
    }


class IntegrationListView(ApiView):
    scopes = {"GET": Scope.READ, "POST": Scope.WRITE}

    @extend_schema(
        parameters=[IntegrationQuerySerializer],
        responses={200: s.IntegrationListSerializer, **ERRORS},
        operation_id="integrations_list",
        summary="Integrations by soonest expiry, keyset-paged",
    )
    def get(self, request: Request) -> Response:
        params = query(IntegrationQuerySerializer, request)
        filters = api_selectors.IntegrationFilter(
            q=params.get("q", ""),
            provider=params.get("provider", ""),
            identity_provider=params.get("identity_provider", ""),
            expires_before=params.get("expires_before"),
            archived=params["archived"],
        )
        try:
            page = api_selectors.integration_keyset_page(
                filters=filters, cursor=params.get("cursor"), limit=params["limit"], now=self.now
            )
        except api_selectors.CursorError as exc:
            return problem_response(status=400, detail=str(exc), errors={"cursor": [str(exc)]})
        return Response(s.IntegrationListSerializer(page).data)

    @extend_schema(
        request=s.IntegrationCreateSerializer,
        responses={201: s.IntegrationDetailSerializer, **ERRORS},
        operation_id="integration_create",
        summary="Create an integration with its first credential",
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        payload = s.IntegrationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        issued_at = data.get("issued_at") or self.now
        if issued_at > self.now:
            raise ValidationError({"issued_at": ["The issue date cannot be in the future."]})
        try:
            secret = credentials.secret_input_clean(
                provider=data["provider"],
                scim_url=data["credential"].get("scim_url", ""),
                token=data["credential"]["token"],
                issued_at=issued_at,
                expires_at=data["credential"].get("expires_at"),
                expiry_unknown=data["credential"].get("expiry_unknown", False),
            )
        except ValidationError as exc:
            raise _nested("credential", exc) from None
        integration, _ = services.integration_create(
            fields=payload.fields_for_service(),
            secret=secret,
            actor=request.user,
            now=self.now,
            ip=self.ip(),
        )
        location = reverse("api:integration", kwargs={"integration_id": integration.pk})
        return Response(
            detail_data(integration.pk, now=self.now), status=201, headers={"Location": location}
        )


class IntegrationDetailView(ApiView):
    scopes = {"GET": Scope.READ, "PATCH": Scope.WRITE}

    @extend_schema(
        responses={200: s.IntegrationDetailSerializer, **ERRORS},
        operation_id="integration_retrieve",
        summary="An integration with every credential version",
    )
    def get(self, request: Request, integration_id: uuid.UUID) -> Response:
        return Response(detail_data(integration_id, now=self.now))

    @extend_schema(
        request=s.IntegrationFieldsSerializer(partial=True),
        responses={200: s.IntegrationDetailSerializer, **ERRORS},
        operation_id="integration_update",
        summary="Change an integration's metadata",
    )
    def patch(self, request: Request, integration_id: uuid.UUID) -> Response:
        integration = vault_selectors.integration_get(integration_id=integration_id)
        payload = s.IntegrationFieldsSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.integration_update(
            integration=integration,
            fields=payload.fields_for_service(),
            actor=request.user,
            now=self.now,
            ip=self.ip(),
        )
        return Response(detail_data(integration.pk, now=self.now))


def _not_current(detail: str) -> Response:
    return problem_response(status=409, detail=detail)


class CredentialAddView(ApiView):
    scopes = {"POST": Scope.WRITE}

    @extend_schema(
        request=s.SecretSerializer,
        responses={201: s.CredentialSerializer, **ERRORS},
        operation_id="credential_add",
        summary="Add a current credential to an integration that has none",
    )
    @sensitive_variables()
    def post(self, request: Request, integration_id: uuid.UUID) -> Response:
        integration, current = rotation_selectors.integration_with_current(
            integration_id=integration_id
        )
        if current is not None:
            return _not_current("This integration already has a current credential: rotate it.")
        payload = s.SecretSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        secret = credentials.secret_input_clean(
            provider=integration.provider,
            scim_url=payload.validated_data.get("scim_url", ""),
            token=payload.validated_data["token"],
            issued_at=self.now,
            expires_at=payload.validated_data.get("expires_at"),
            expiry_unknown=payload.validated_data.get("expiry_unknown", False),
        )
        credential = credentials.credential_create(
            integration=integration, secret=secret, actor=request.user, now=self.now, ip=self.ip()
        )
        return Response(s.facts_data(credential_facts(credential=credential, now=self.now)), 201)


def _target(request_data: dict[str, Any], integration_id: uuid.UUID) -> Any:
    """The integration's current credential, or the version the request names; None when it
    has no current one. Raises ``ValidationError`` on ``credential`` when the request names a
    version this integration does not have."""
    integration, current = rotation_selectors.integration_with_current(
        integration_id=integration_id
    )
    named = request_data.get("credential")
    if named is None or current is None or named == current.pk:
        return current
    version = rotation_selectors.credential_of(integration=integration, credential_id=named)
    if version is None:
        raise ValidationError({"credential": ["This integration has no such credential."]})
    return version


class CredentialRotateView(ApiView):
    scopes = {"POST": Scope.WRITE}

    @extend_schema(
        request=s.RotateSerializer,
        responses={201: s.RotationSerializer, **ERRORS},
        operation_id="credential_rotate",
        summary="Replace the current credential",
    )
    @sensitive_variables()
    def post(self, request: Request, integration_id: uuid.UUID) -> Response:
        payload = s.RotateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        target = _target(data, integration_id)
        if target is None:
            return _not_current("There is no current credential to rotate: add one instead.")
        rotation_services.credential_ensure_current(credential=target, verb="rotated")
        secret = rotation_services.rotation_secret_clean(
            credential=target,
            scim_url=data.get("scim_url"),
            token=data["token"],
            expires_at=data.get("expires_at"),
            now=self.now,
        )
        rotation = rotation_services.credential_rotate(
            credential=target,
            secret=secret,
            actor=request.user,
            now=self.now,
            reason=data.get("reason", ""),
            idp_updated=idp_answer(data["idp_updated"]),
            ip=self.ip(),
        )
        return Response(s.RotationSerializer(rotation).data, status=201)


class CredentialRevokeView(ApiView):
    scopes = {"POST": Scope.WRITE}

    @extend_schema(
        request=s.RevokeSerializer,
        responses={200: s.CredentialSerializer, **ERRORS},
        operation_id="credential_revoke",
        summary="Revoke the current credential (a reason is required)",
    )
    def post(self, request: Request, integration_id: uuid.UUID) -> Response:
        payload = s.RevokeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        target = _target(payload.validated_data, integration_id)
        if target is None:
            return _not_current("This integration has no current credential to revoke.")
        revoked = rotation_services.credential_revoke(
            credential=target,
            reason=payload.validated_data["reason"],
            actor=request.user,
            now=self.now,
            ip=self.ip(),
        )
        return Response(s.facts_data(credential_facts(credential=revoked, now=self.now)))


class CredentialRevealView(ApiView):
    """The one endpoint that answers a secret: an admin's token with the ``reveal`` scope;
    audited like the reveal page (``CREDENTIAL_REVEALED``) and as a reveal-scope request."""

    scopes = {"POST": Scope.REVEAL}

    @extend_schema(
        request=None,
        responses={200: s.RevealedSecretSerializer, **ERRORS},
        operation_id="credential_reveal",
        summary="Reveal a credential's SCIM URL and token (audited)",
    )
    @sensitive_variables()
    def post(self, request: Request, credential_id: uuid.UUID) -> Response:
        credential = vault_selectors.credential_for_reveal(credential_id=credential_id)
        try:
            revealed = services.credential_reveal(
                credential=credential, actor=request.user, now=self.now, ip=self.ip()
            )
        except services.RevealError as exc:
            return problem_response(status=409, detail=str(exc))
        response = Response({"scim_url": revealed.scim_url, "token": revealed.token})
        response["Cache-Control"] = "no-store"
        return response
