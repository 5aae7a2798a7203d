"""Auditor pages: the audit log (filter, keyset pages, export) and the compliance summary (date
range, rotation-history export).

Readable by admins and auditors; nothing here shows or changes a secret. Exports are POSTs
(each writes its own audit event, so it is a state change and carries a CSRF token).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from keyvault.audit.compliance import compliance_summary
from keyvault.audit.export import ExportFormat, audit_export_response
from keyvault.audit.forms import AuditFilterForm, ComplianceRangeForm
from keyvault.audit.history_export import rotation_history_export
from keyvault.audit.selectors import audit_page
from keyvault.web.params import query_cursor
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import viewer_required

FILTER_FIELDS = ("integration", "actor", "action", "date_from", "date_to", "q")


def _filter_form(data: dict[str, str]) -> AuditFilterForm:
    form = AuditFilterForm({k: data[k] for k in FILTER_FIELDS if data.get(k)})
    form.is_valid()  # the valid fields still filter; the invalid ones show their error
    return form


@viewer_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, filtered, 50 a page (``before``/``after`` cursors)."""
    form = _filter_form(request.GET.dict())
    filters = form.filters()
    page = audit_page(
        filters=filters,
        before=query_cursor(request, "before"),
        after=query_cursor(request, "after"),
    )
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return render(
        request,
        "keyvault/audit_log.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "filter_query": query.urlencode(),
            "filter_items": [(k, v) for k, v in query.items() if k in FILTER_FIELDS and v],
        },
    )


@viewer_required
@require_POST
def audit_export(request: HttpRequest) -> HttpResponse:
    """Stream the filtered log as CSV or JSON lines; the export itself is audited."""
    try:
        fmt = ExportFormat(request.POST.get("format", ExportFormat.CSV))
    except ValueError:
        return HttpResponseBadRequest("Unknown export format.")
    form = _filter_form(request.POST.dict())
    if form.errors:
        return HttpResponseBadRequest("Fix the filter before exporting.")
    response = audit_export_response(
        filters=form.filters(),
        fmt=fmt,
        actor=request.user,
        now=timezone.now(),
        ip=client_ip(request),
    )
    # A streamed response: the role decorators are typed for HttpResponse only.
    return cast(HttpResponse, response)


RANGE_FIELDS = ("date_from", "date_to")


def _range_form(data: dict[str, str], *, now: datetime) -> ComplianceRangeForm:
    return ComplianceRangeForm({k: data[k] for k in RANGE_FIELDS if data.get(k)} or None, now=now)


@viewer_required
@require_safe
def compliance(request: HttpRequest) -> HttpResponse:
    """Retirement figures for a date range (default: the last 12 months), integrations expired
    now, and the expiry timeline. A bad date is a field error; the figures then use the
    default range."""
    now = timezone.now()
    form = _range_form(request.GET.dict(), now=now)
    summary = compliance_summary(
        now=now, date_range=form.date_range(), page_number=request.GET.get("page")
    )
    return render(request, "keyvault/compliance.html", {"summary": summary, "form": form})


@viewer_required
@require_POST
def compliance_export(request: HttpRequest) -> HttpResponse:
    """Stream the rotation history of the date range as CSV; the export itself is audited."""
    now = timezone.now()
    form = _range_form(request.POST.dict(), now=now)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest("Fix the date range before exporting.")
    response = rotation_history_export(
        date_range=form.date_range(), actor=request.user, now=now, ip=client_ip(request)
    )
    # A streamed response: the role decorators are typed for HttpResponse only.
    return cast(HttpResponse, response)
