"""The API's reminders (list, retry), audit events and compliance summary.

The audit events take the audit page's filters through the page's own form and page by the
same keyset (``keyvault.audit.selectors``); the compliance summary is the page's
(``keyvault.audit.compliance``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.delivery import reminder_retry
from alerts.models import ReminderStatus
from keyvault.api import selectors as api_selectors
from keyvault.api import serializers as s
from keyvault.api.models import Scope
from keyvault.api.problems import problem_response
from keyvault.api.views import ERRORS, ApiView, CursorSerializer, LimitSerializer, query
from keyvault.audit.compliance import compliance_summary
from keyvault.audit.forms import AuditFilterForm, ComplianceRangeForm
from keyvault.audit.selectors import SEARCH_MAX_LENGTH, audit_page
from keyvault.audit.sentences import event_sentence
from keyvault.audit.views import FILTER_FIELDS, RANGE_FIELDS
from keyvault.models import AuditAction


class ReminderQuerySerializer(CursorSerializer):
    status = serializers.ChoiceField(choices=ReminderStatus.choices, required=False)
    integration = serializers.UUIDField(required=False)
    channel = serializers.UUIDField(required=False)


class ReminderListView(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[ReminderQuerySerializer],
        responses={200: s.ReminderListSerializer, **ERRORS},
        operation_id="reminders_list",
        summary="Reminders (the outbox), newest first, keyset-paged",
    )
    def get(self, request: Request) -> Response:
        params = query(ReminderQuerySerializer, request)
        filters = api_selectors.ReminderFilter(
            status=params.get("status", ""),
            integration_id=params.get("integration"),
            channel_id=params.get("channel"),
        )
        try:
            page = api_selectors.reminder_keyset_page(
                filters=filters, cursor=params.get("cursor"), limit=params["limit"]
            )
        except api_selectors.CursorError as exc:
            return problem_response(status=400, detail=str(exc), errors={"cursor": [str(exc)]})
        return Response(
            {
                "results": s.ReminderSerializer(page.reminders, many=True).data,
                "next": page.next_cursor,
            }
        )


class ReminderRetryView(ApiView):
    scopes = {"POST": Scope.WRITE}

    @extend_schema(
        request=None,
        responses={200: s.ReminderSerializer, **ERRORS},
        operation_id="reminder_retry",
        summary="Send a failed reminder again",
    )
    def post(self, request: Request, reminder_id: int) -> Response:
        api_selectors.reminder_get(reminder_id=reminder_id)  # 404 when unknown
        reminder = reminder_retry(
            reminder_id=reminder_id, actor=request.user, now=self.now, ip=self.ip()
        )
        return Response(s.ReminderSerializer(reminder).data)


class AuditCursorSerializer(LimitSerializer):
    before = serializers.IntegerField(required=False, min_value=0)
    after = serializers.IntegerField(required=False, min_value=0)


class AuditQuerySerializer(AuditCursorSerializer):
    """The audit page's filters (checked by the page's own form), and the cursors."""

    integration = serializers.CharField(
        required=False, max_length=200, help_text="An integration's id or exact name"
    )
    actor = serializers.IntegerField(required=False, help_text="A user's id")
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, max_length=SEARCH_MAX_LENGTH)


def _form_problem(form: Any) -> Response:
    errors = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
    return problem_response(status=400, detail="The filters are not valid.", errors=errors)


class AuditEventListView(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[AuditQuerySerializer],
        responses={200: s.AuditPageSerializer, **ERRORS},
        operation_id="audit_events_list",
        summary="Audit events, newest first, filtered like the audit log page",
    )
    def get(self, request: Request) -> Response:
        params = query(AuditCursorSerializer, request)
        raw = request.query_params
        form = AuditFilterForm({k: raw[k] for k in FILTER_FIELDS if raw.get(k)})
        if not form.is_valid():
            return _form_problem(form)
        page = audit_page(
            filters=form.filters(),
            before=params.get("before"),
            after=params.get("after"),
            limit=params["limit"],
        )
        for event in page.events:
            event.sentence = event_sentence(event)  # type: ignore[attr-defined]
        return Response(
            {
                "results": s.AuditEventSerializer(page.events, many=True).data,
                "older": page.older_cursor,
                "newer": page.newer_cursor,
            }
        )


class ComplianceQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class ComplianceView(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[ComplianceQuerySerializer],
        responses={200: s.ComplianceSerializer, **ERRORS},
        operation_id="compliance_retrieve",
        summary="Compliance: retirements in a date range, expired now, expiry timeline",
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params
        form = ComplianceRangeForm(
            {k: raw[k] for k in RANGE_FIELDS if raw.get(k)} or None, now=self.now
        )
        if form.is_bound and not form.is_valid():
            return _form_problem(form)
        summary = compliance_summary(now=self.now, date_range=form.date_range(), per_page=1)
        return Response(s.ComplianceSerializer(summary).data)
