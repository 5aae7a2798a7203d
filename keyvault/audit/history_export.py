"""The rotation history of a date range as CSV: every credential rotated away or revoked in the
range, with when, by whom, why, and whether (and how long) it had expired first — the same
facts the compliance page counts.

The export is audited (``AUDIT_EXPORTED``, details naming what, which range, the checkpoint and
the rows sent) once its stream has been produced, or as failed when it broke. Cells are
formula-safe (``csv_safe``); rows stream from a database cursor, so memory stays flat. After
the rows, one last row holds a signed audit checkpoint of the log as the export began (every
rotation and revocation exported was audited before it): with the public key anyone can check
that the audit log still holds those events (``verify_audit_log --checkpoints``), and the line
verifies on its own as documented in the README.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import StreamingHttpResponse

from keyvault.audit.checkpoints import Checkpoint, audit_checkpoint_write, checkpoint_covering
from keyvault.audit.compliance import DateRange, lapsed_days, retired_in_range
from keyvault.audit.export import (
    Counted,
    ExportFormat,
    audit_export_recorder,
    csv_chunks,
    export_download,
)
from keyvault.models import AuditAction, AuditChainHead, AuditEvent, CredentialState

logger = logging.getLogger(__name__)

EXPORT_KIND = "rotation_history"
CHUNK_SIZE = 1000


def _as_is(value: Any) -> Any:
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _retired_as(state: str) -> str:
    return "rotated" if state == CredentialState.SUPERSEDED else "revoked"


#: The columns, in order: (name, the field of ``retired_in_range`` it is read from, how it is
#: written). ``by`` is filled in from the audit log for revocations (see ``_rows``).
COLUMNS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("integration", "integration__name", _as_is),
    ("integration_id", "integration_id", _text),
    ("credential_id", "id", _text),
    ("credential_hint", "hint", _as_is),
    ("retired_as", "state", _retired_as),
    ("retired_at", "retired_at", _utc),
    ("by", "rotated_to__rotated_by__username", _text),
    ("issued_at", "issued_at", _utc),
    ("expires_at", "expires_at", _utc),
    ("late", "lapse", lambda lapse: _yes_no(lapsed_days(lapse) > 0)),
    ("days_lapsed", "lapse", lapsed_days),
    ("lead_time_days", "rotated_to__lead_time_days", _as_is),
    ("replaced_by_hint", "rotated_to__new_credential__hint", _text),
    ("idp_updated", "rotated_to__idp_updated", _yes_no),  # as answered at the rotation
    ("idp_confirmed_at", "rotated_to__idp_confirmed_at", _utc),  # "not yet", confirmed later
    ("rotation_reason", "rotated_to__reason", _text),
    ("revoke_reason", "revoke_reason", _text),
)
HEADER = tuple(name for name, _, _ in COLUMNS)
SOURCE_FIELDS = tuple(dict.fromkeys(source for _, source, _ in COLUMNS))


def checkpoint_rows(*, checkpoint: Checkpoint | None) -> Iterable[Sequence[Any]]:
    """The CSV rows written after the history: a blank row, then the signed checkpoint line
    (or a row saying none could be signed)."""
    if checkpoint is None:
        return ([], ["signed audit checkpoint", "none: it could not be written (see the log)"])
    return ([], ["signed audit checkpoint", checkpoint.to_line().strip()])


def _export_checkpoint(*, now: datetime) -> Checkpoint | None:
    """A signed checkpoint of the audit log as the export begins: every rotation and revocation
    it lists was audited before it, so the checkpoint anchors them all. An existing checkpoint
    of the current head is reused; otherwise one is signed now.

    A file that cannot be written is logged and the export goes on without a checkpoint; so
    does a caller that holds a transaction open (a head read inside it might never commit).
    """
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if not head:
        return None
    covering = checkpoint_covering(seq=head)
    if covering is not None:
        return covering
    if transaction.get_connection().in_atomic_block:
        logger.warning("rotation history export inside a transaction: no checkpoint signed")
        return None
    try:
        return audit_checkpoint_write(now=now)
    except OSError as exc:
        logger.error("rotation history export: no checkpoint written (%s)", type(exc).__name__)
        return None


def _revokers(ids: Sequence[str]) -> dict[str, str]:
    """Who revoked each of the credentials ``ids`` (by their audit events), one query."""
    if not ids:
        return {}
    return dict(
        AuditEvent.objects.filter(
            action=AuditAction.CREDENTIAL_REVOKED, target_type="credential", target_id__in=ids
        ).values_list("target_id", "actor_label")
    )


def _rows(date_range: DateRange) -> Iterator[list[Any]]:
    """The history rows, oldest retirement first; one query per ``CHUNK_SIZE`` rows for the
    revokers' names (a revocation has no column of its own naming who did it)."""
    source: Iterator[Mapping[str, Any]] = (
        retired_in_range(date_range=date_range)
        .order_by(F("retired_at").asc(), "id")
        .values(*SOURCE_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    while chunk := list(islice(source, CHUNK_SIZE)):
        revokers = _revokers([str(r["id"]) for r in chunk if r["state"] == CredentialState.REVOKED])
        for row in chunk:
            record = {name: write(row[field]) for name, field, write in COLUMNS}
            if row["state"] == CredentialState.REVOKED:
                record["by"] = revokers.get(str(row["id"]), "")
            yield [record[name] for name in HEADER]


def rotation_history_lines(
    *, rows: Iterable[Sequence[Any]], checkpoint: Checkpoint | None
) -> Iterator[str]:
    """The header, the rows and the checkpoint rows, as formula-safe CSV chunks."""

    def records() -> Iterator[Sequence[Any]]:
        yield HEADER
        yield from rows
        yield from checkpoint_rows(checkpoint=checkpoint)

    return csv_chunks(records())


def rotation_history_export(
    *, date_range: DateRange, actor: Any, now: datetime, ip: str | None = None
) -> StreamingHttpResponse:
    """Stream the rotation history of ``date_range`` as a CSV download ending with the signed
    checkpoint that anchors it; audit the export (``AUDIT_EXPORTED``: what, format, range, the
    checkpoint and the rows sent) once the stream has been produced, or as failed when it broke
    (``audit_export_stream``). The event carries ``now``, the time the export was asked for."""
    checkpoint = _export_checkpoint(now=now)
    rows = Counted(_rows(date_range))

    record = audit_export_recorder(
        actor=actor,
        now=now,
        ip=ip,
        details={
            "export": EXPORT_KIND,
            "format": ExportFormat.CSV.value,
            **date_range.as_details(),
            "checkpoint_seq": checkpoint.seq if checkpoint is not None else None,
        },
    )

    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return export_download(
        rotation_history_lines(rows=rows, checkpoint=checkpoint),
        rows=rows,
        record=record,
        content_type="text/csv; charset=utf-8",
        filename=f"keyvault-rotation-history-{date_range.start.isoformat()}"
        f"-{date_range.end.isoformat()}-{stamp}.csv",
    )
