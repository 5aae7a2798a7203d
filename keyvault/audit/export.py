"""Streamed exports of the (filtered) audit log: CSV for spreadsheets, JSON lines for tools.

The export is itself audited (``AUDIT_EXPORTED``, the filter in its details) before a byte is
sent, and covers the events recorded before that one. Rows stream from a database cursor
through a generator, so memory stays flat whatever the size of the log.

CSV cells are made safe for spreadsheets: a text cell that starts with a character a
spreadsheet treats as the start of a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return, and their full-width forms) gets a leading ``'`` so it is shown as text and never runs
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction
from django.http import StreamingHttpResponse

from keyvault.audit.chain import audit_append
from keyvault.audit.selectors import AuditFilter, audit_rows_for_export
from keyvault.audit.sentences import credential_hint, event_outcome, row_sentence
from keyvault.models import AuditAction


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON lines"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")  # noqa: RUF001
_ACTION_LABELS = dict(AuditAction.choices)


def csv_safe(value: Any) -> Any:
    """A cell value that a spreadsheet shows as typed: text that could start a formula gets a
    leading apostrophe; numbers stay numbers; ``None`` becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _as_is(value: Any) -> Any:
    return value


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _action_label(action: str) -> str:
    return str(_ACTION_LABELS.get(action, action))


def _hint(details: Any) -> str:
    return credential_hint(details) if isinstance(details, Mapping) else ""


def _outcome(row: Mapping[str, Any]) -> str:
    details = row["details"] if isinstance(row["details"], Mapping) else {}
    return event_outcome(action=row["action"], details=details).value


#: A column whose value is computed from the whole row rather than read from one field.
ROW = "*"

#: The columns of an export, in order: (name, the event field it is read from — or ``ROW`` —
#: and how the value is written: timestamps in UTC, ISO 8601). Every field the row hash covers
#: is among them under its own name, so an unfiltered export can be re-verified offline; the
#: readable columns (``sentence``, ``credential_hint``, ``outcome``) are derived from them.
COLUMNS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("seq", "seq", _as_is),
    ("created_at", "created_at", _utc),
    ("action", "action", _as_is),
    ("action_label", "action", _action_label),
    ("sentence", ROW, row_sentence),
    ("actor", "actor_label", _as_is),
    ("actor_id", "actor_id", _as_is),
    ("integration", "integration__name", _as_is),
    ("integration_id", "integration_id", _text_or_none),
    ("target_type", "target_type", _as_is),
    ("target_id", "target_id", _as_is),
    ("credential_hint", "details", _hint),
    ("ip", "ip", _text_or_none),
    ("outcome", ROW, _outcome),
    ("details", "details", _as_is),
    ("prev_hash", "prev_hash", _as_is),
    ("hash", "hash", _as_is),
)
CSV_HEADER = tuple(name for name, _, _ in COLUMNS)
#: The event fields the export reads, each once (the ``ROW`` columns read only these).
SOURCE_FIELDS = tuple(dict.fromkeys(source for _, source, _ in COLUMNS if source != ROW))


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One event as plain JSON-ready values."""
    return {name: write(row if source == ROW else row[source]) for name, source, write in COLUMNS}


class _Line:
    """A file-like object for ``csv.writer`` that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then one formula-safe CSV line per event."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(CSV_HEADER)
    for row in rows:
        record = _record(row)
        record["details"] = json.dumps(record["details"], sort_keys=True, ensure_ascii=False)
        yield writer.writerow([csv_safe(record[column]) for column in CSV_HEADER])


def jsonl_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """One JSON object per line and per event."""
    for row in rows:
        yield json.dumps(_record(row), ensure_ascii=False) + "\n"


def csv_chunks(records: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Rows of cells (the header first) as formula-safe CSV, in chunks ready to stream."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    return _batched(writer.writerow([csv_safe(cell) for cell in record]) for record in records)


def _batched(lines: Iterable[str], *, size: int = 64 * 1024) -> Iterator[str]:
    """Join lines into chunks of about ``size`` characters: one write per chunk, not per row."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


def audit_export_start(
    *, filters: AuditFilter, fmt: ExportFormat, actor: Any, now: datetime, ip: str | None = None
) -> int:
    """Record the export (``AUDIT_EXPORTED`` with the filter) and return the last ``seq`` it
    covers: every event recorded before this one."""
    with transaction.atomic():
        event = audit_append(
            action=AuditAction.AUDIT_EXPORTED,
            now=now,
            actor=actor,
            ip=ip,
            details={"format": fmt.value, "filters": filters.as_details()},
        )
    return event.seq - 1


def audit_export_response(
    *, filters: AuditFilter, fmt: ExportFormat, actor: Any, now: datetime, ip: str | None = None
) -> StreamingHttpResponse:
    """Audit the export, then stream it as a download."""
    upto_seq = audit_export_start(filters=filters, fmt=fmt, actor=actor, now=now, ip=ip)
    rows = audit_rows_for_export(filters=filters, upto_seq=upto_seq, fields=SOURCE_FIELDS)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if fmt == ExportFormat.CSV:
        response = StreamingHttpResponse(
            _batched(csv_lines(rows)), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(
            _batched(jsonl_lines(rows)), content_type="application/x-ndjson; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="keyvault-audit-{stamp}.{fmt.value}"'
    response["Cache-Control"] = "no-store"
    return response
