"""Streamed exports of the (filtered) audit log: CSV for spreadsheets, JSON lines for tools.

An export covers the events recorded when it starts and is itself audited (``AUDIT_EXPORTED``,
with the filter and the number of rows) once its stream has been produced: an export that broke
half-way is recorded as failed, never as done. Rows stream from a database cursor through a
generator, so memory stays flat whatever the size of the log.

CSV cells are made safe for spreadsheets: a text cell that starts with a character a
spreadsheet treats as the start of a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return, and their full-width forms) gets a leading ``'`` so it is shown as text and never runs
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, models, transaction
from django.http import StreamingHttpResponse

from keyvault.audit.chain import audit_append
from keyvault.audit.facts import credential_hint
from keyvault.audit.selectors import AuditFilter, audit_rows_for_export
from keyvault.audit.sentences import event_outcome, row_sentence
from keyvault.models import AuditAction, AuditChainHead

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON lines"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")  # noqa: RUF001
_ACTION_LABELS = dict(AuditAction.choices)


def csv_safe(value: Any) -> Any:
    """A cell value that a spreadsheet shows as typed: text that could start a formula gets a
    leading apostrophe; numbers stay numbers; ``None`` becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


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


def audit_export_start() -> int:
    """The last ``seq`` an export started now covers: every event recorded so far.

    Nothing is written here; the export is audited once its stream has been produced
    (``audit_export_stream``), and events recorded meanwhile stay out of it.
    """
    return AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


class Counted(Generic[T]):
    """Rows passing through, counted (the number of rows an export sent)."""

    def __init__(self, rows: Iterable[T]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[T]:
        for row in self.rows:
            self.count += 1
            yield row


def audit_export_stream(
    chunks: Iterable[str], *, rows: Counted[Any], record: Callable[[dict[str, Any]], None]
) -> Iterator[str]:
    """Yield ``chunks``, then audit the export with the number of ``rows`` sent.

    The event is recorded after the last chunk was produced, in its own transaction. When the
    stream breaks (an error while reading or writing rows, or the client going away, which
    closes the generator) the export is recorded as failed with the rows produced so far (at
    most those reached the client), since they may have left; if even that cannot be written,
    the original error stands and nothing is recorded.
    """
    try:
        yield from chunks
    except (Exception, GeneratorExit) as exc:
        failure = {"outcome": "failed", "error": type(exc).__name__, "rows": rows.count}
        try:
            record(failure)
        except DatabaseError:
            logger.exception("the failed audit export could not be recorded")
        raise
    record({"rows": rows.count})


def export_download(
    chunks: Iterable[str],
    *,
    rows: Counted[Any],
    record: Callable[[dict[str, Any]], None],
    content_type: str,
    filename: str,
) -> StreamingHttpResponse:
    """An export as a streamed, uncached download, audited through ``record`` once produced
    (or as failed, see ``audit_export_stream``)."""
    response = StreamingHttpResponse(
        audit_export_stream(chunks, rows=rows, record=record), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def audit_export_recorder(
    *, actor: Any, now: datetime, ip: str | None, details: Mapping[str, Any]
) -> Callable[[dict[str, Any]], None]:
    """The ``record`` of an export: appends its ``AUDIT_EXPORTED`` event, ``details`` plus the
    outcome (rows sent, or failed), in its own transaction."""

    def record(outcome: dict[str, Any]) -> None:
        with transaction.atomic():
            audit_append(
                action=AuditAction.AUDIT_EXPORTED,
                now=now,
                actor=actor,
                ip=ip,
                details={**details, **outcome},
            )

    return record


def audit_export_response(
    *, filters: AuditFilter, fmt: ExportFormat, actor: Any, now: datetime, ip: str | None = None
) -> StreamingHttpResponse:
    """Stream the events recorded so far (filtered) as a download; audit the export
    (``AUDIT_EXPORTED`` with the filter, the format and the rows sent) when the stream has been
    produced, or as failed when it broke (see ``audit_export_stream``). The event carries
    ``now``, the time the export was asked for."""
    upto_seq = audit_export_start()
    rows = Counted(audit_rows_for_export(filters=filters, upto_seq=upto_seq, fields=SOURCE_FIELDS))

    record = audit_export_recorder(
        actor=actor, now=now, ip=ip, details={"format": fmt.value, "filters": filters.as_details()}
    )
    lines = csv_lines(rows) if fmt == ExportFormat.CSV else jsonl_lines(rows)
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == ExportFormat.CSV
        else "application/x-ndjson; charset=utf-8"
    )
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return export_download(
        _batched(lines),
        rows=rows,
        record=record,
        content_type=content_type,
        filename=f"keyvault-audit-{stamp}.{fmt.value}",
    )
