"""Inventory pages: import a spreadsheet (admins: a dry run, then the import) and export the
inventory (admins and auditors).

The import view reads the upload into memory only (``InMemoryUploadHandler``): it sets the
upload handlers before anything reads the body, so it is exempt from the CSRF middleware and
checks CSRF itself (``csrf_protect``), as Django's documentation prescribes. The file may hold
tokens: the view is ``handles_secrets`` and no page shows a cell of the token or URL columns.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from keyvault.inventory import importer
from keyvault.inventory.columns import COLUMNS
from keyvault.inventory.export import inventory_export_response
from keyvault.inventory.forms import ExportForm, ImportForm, InMemoryUploadHandler
from keyvault.inventory.spreadsheet import SheetError, SheetFormat, table_read
from keyvault.web.requestinfo import client_ip
from keyvault.web.roles import admin_required, viewer_required
from keyvault.web.secrecy import handles_secrets

#: Rows a dry run lists one by one (beyond that: the counts, and every refused row).
SHOWN_ROWS = 200


def _page(
    request: HttpRequest,
    form: ImportForm,
    plan: importer.ImportPlan | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    shown = []
    if plan is not None:
        shown = plan.bad_rows[:SHOWN_ROWS] if not plan.ok else plan.rows[:SHOWN_ROWS]
    return render(
        request,
        "keyvault/import.html",
        {
            "form": form,
            "plan": plan,
            "shown": shown,
            "problem": problem,
            "columns": COLUMNS,
            "max_rows": settings.KEYVAULT_IMPORT_MAX_ROWS,
        },
        status=status,
    )


@csrf_protect
@sensitive_variables()
def _import_post(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form)
    now = timezone.now()
    try:
        table = table_read(form.cleaned_data["file"])
    except SheetError as exc:
        return _page(request, ImportForm(), problem=str(exc))
    intent, checked = form.cleaned_data["intent"], form.cleaned_data["checked"]
    if intent == "dry_run" or checked != table.digest:
        plan = importer.import_plan(table=table, now=now)
        problem = "" if intent == "dry_run" else "This is not the file the dry run checked."
        return _page(request, ImportForm(initial={"checked": plan.digest}), plan, problem)
    try:
        plan = importer.integrations_import(
            table=table, actor=request.user, now=now, ip=client_ip(request)
        )
    except importer.ImportRefused as exc:
        return _page(request, ImportForm(initial={"checked": exc.plan.digest}), exc.plan, str(exc))
    messages.success(
        request,
        f"Imported {len(plan.rows)} integrations ({plan.metadata_only} metadata only).",
    )
    return redirect("keyvault:dashboard")


@handles_secrets("token", "scim_url")
@csrf_exempt
@admin_required
@never_cache
@require_http_methods(["GET", "POST"])
def inventory_import(request: HttpRequest) -> HttpResponse:
    """Upload a spreadsheet: a dry run lists every row's outcome, then the same file is
    imported in one go (all rows or none)."""
    if request.method != "POST":
        return _page(request, ImportForm())
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isascii() or not length.isdigit():
        return HttpResponseBadRequest("Bad Content-Length.")
    if int(length) > settings.KEYVAULT_IMPORT_MAX_BYTES + 64 * 1024:
        # Refused before the body is read: nothing of it is parsed or kept.
        return _page(
            request,
            ImportForm(),
            problem="The file is too large to import in one go; split it.",
            status=413,
        )
    request.upload_handlers = [InMemoryUploadHandler(request)]
    return _import_post(request)


@viewer_required
@require_POST
def inventory_export(request: HttpRequest) -> HttpResponse:
    """Download every integration's metadata as CSV or XLSX (no secret); audited."""
    form = ExportForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown export format.")
    response = inventory_export_response(
        fmt=SheetFormat(form.cleaned_data["format"]),
        actor=request.user,
        now=timezone.now(),
        ip=client_ip(request),
    )
    return cast(HttpResponse, response)
