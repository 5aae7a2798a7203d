"""Inventory export: every integration with its metadata and its current version's dates, as
CSV or XLSX, never a secret (no token, no SCIM URL, no fingerprint).

The headers are the import's (``keyvault.inventory.columns``) without the two secret columns,
then a few read-only ones; so an export imports again (as metadata-only integrations, under new
names). A current version whose expiry is unconfirmed (saved with "expiry unknown") is
exported with ``unknown`` as its expiry, which the import reads back as the same worst-case
date, still unconfirmed; its ``status`` follows that worst-case date. Cells are formula-safe
in both formats (``keyvault.audit.export.csv_safe``). The export is audited as
``AUDIT_EXPORTED`` (``"export": "inventory"``) with the number of rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from keyvault.audit.export import (
    Counted,
    audit_export_recorder,
    csv_chunks,
    csv_safe,
    export_download,
)
from keyvault.inventory.columns import COLUMNS, EXPIRY_UNKNOWN, EXPORT_ONLY
from keyvault.inventory.spreadsheet import SheetFormat
from keyvault.models import Credential, CredentialState, Integration
from keyvault.vault.expiry import credential_status

HEADER = (*(c.header for c in COLUMNS if not c.secret), *EXPORT_ONLY)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class _Current:
    state: str
    expires_at: datetime


def _current(field: str) -> Subquery:
    return Subquery(
        Credential.objects.filter(integration=OuterRef("pk"), state=CredentialState.CURRENT).values(
            field
        )[:1]
    )


def inventory_rows(*, now: datetime) -> Iterator[list[Any]]:
    """One row of cells per integration, by name (one query, read in chunks)."""
    rows = (
        Integration.objects.order_by("name")
        .annotate(
            cur_issued=_current("issued_at"),
            cur_expires=_current("expires_at"),
            cur_stored=_current("secret_stored"),
            cur_hint=_current("hint"),
            cur_confirmed=_current("expiry_confirmed"),
        )
        .values_list(
            "pk",
            "name",
            "provider",
            "identity_provider",
            "owner",
            "owner_email",
            "notes",
            "archived_at",
            "cur_issued",
            "cur_expires",
            "cur_stored",
            "cur_hint",
            "cur_confirmed",
        )
    )
    tz = timezone.get_current_timezone()
    for (
        pk,
        name,
        provider,
        idp,
        owner,
        email,
        notes,
        archived_at,
        issued,
        expires,
        stored,
        hint,
        confirmed,
    ) in rows.iterator(chunk_size=2000):
        if expires is None:
            status, stored_text = "no current credential", ""
        else:
            status = credential_status(
                _Current(state=CredentialState.CURRENT, expires_at=expires),
                now=now,
                due_soon_days=settings.KEYVAULT_DUE_SOON_DAYS,
                tz=tz,
            ).value
            stored_text = "yes" if stored else "no"
        if archived_at is not None:
            status = "archived"  # retired: no reminders, whatever its expiry
        yield [
            name,
            provider,
            idp,
            owner,
            email,
            issued.astimezone(tz).date().isoformat() if issued else "",
            _expiry_text(expires, confirmed=confirmed, tz=tz),
            notes,
            status,
            stored_text,
            hint if stored else "",
            str(pk),
        ]


def _expiry_text(expires: datetime | None, *, confirmed: bool | None, tz: tzinfo) -> str:
    """The ``expires`` cell: the local date, ``unknown`` for a worst case not confirmed."""
    if expires is None:
        return ""
    if confirmed is False:
        return EXPIRY_UNKNOWN
    return expires.astimezone(tz).date().isoformat()


def _xlsx(rows: Counted[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Inventory")
    sheet.append(list(HEADER))
    for row in rows:
        # Text stays text: a cell a spreadsheet would read as a formula is escaped.
        sheet.append([csv_safe(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def inventory_export_response(
    *, fmt: SheetFormat, actor: Any, now: datetime, ip: str | None = None
) -> HttpResponse | StreamingHttpResponse:
    """The inventory as a download (CSV streamed; XLSX built in memory, as the format needs),
    audited once produced."""
    rows = Counted(inventory_rows(now=now))
    record = audit_export_recorder(
        actor=actor, now=now, ip=ip, details={"export": "inventory", "format": fmt.value}
    )
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"keyvault-inventory-{stamp}.{fmt.value}"
    if fmt == SheetFormat.CSV:
        return export_download(
            csv_chunks(_with_header(rows)),
            rows=rows,
            record=record,
            content_type="text/csv; charset=utf-8",
            filename=filename,
        )
    body = _xlsx(rows)
    record({"rows": rows.count})
    response = HttpResponse(body, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _with_header(rows: Counted[list[Any]]) -> Iterator[list[Any] | tuple[str, ...]]:
    yield HEADER
    yield from rows
