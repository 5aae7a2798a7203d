"""Insert reminder outbox rows in one statement, whatever their number.

Django's ``bulk_create`` splits an insert into batches of at most 999 parameters on SQLite, so
the scan's query count would grow with the number of reminders owed. Here the rows travel as
one JSON parameter and the database unpacks them (``json_each`` on SQLite,
``jsonb_array_elements`` on PostgreSQL): one ``INSERT ... SELECT`` for 5 rows or 100,000, with
``ON CONFLICT DO NOTHING`` on the unique (credential, threshold, channel) key so a repeated or
concurrent scan inserts nothing twice. ``RETURNING status`` tells what was really inserted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection, models

from alerts.models import Reminder, ReminderStatus

# Columns filled from the JSON rows, in order; the others get fixed values below.
_COLUMNS = ("credential_id", "channel_id", "threshold", "status", "due_at", "created_at")
_FIXED = {"attempts": "0", "last_error": "''"}


def _field(name: str) -> models.Field[object, object]:
    found = Reminder._meta.get_field(name)
    assert isinstance(found, models.Field) and found.column
    return found


def _column(name: str) -> str:
    return str(_field(name).column)


@dataclass(frozen=True)
class NewReminder:
    """One outbox row to insert."""

    credential_id: UUID
    channel_id: UUID
    threshold: int
    status: ReminderStatus
    due_at: datetime

    def sort_key(self) -> tuple[str, str, int]:
        return (str(self.credential_id), str(self.channel_id), self.threshold)


def outbox_insert(rows: list[NewReminder], *, now: datetime) -> Counter[str]:
    """Insert ``rows`` (created at ``now``), skipping any whose key already exists.

    Returns how many rows were inserted per status. Rows are inserted in key order, so two
    concurrent inserts of overlapping rows take the unique index's locks in the same order and
    cannot deadlock. Runs one statement; call it inside the scan's transaction.
    """
    if not rows:
        return Counter()
    meta = Reminder._meta
    values = []
    for row in sorted(rows, key=NewReminder.sort_key):
        record = {
            "credential_id": row.credential_id,
            "channel_id": row.channel_id,
            "threshold": row.threshold,
            "status": row.status.value,
            "due_at": row.due_at,
            "created_at": now,
        }
        # The database's own representation of each value (UUID as hex on SQLite, datetimes
        # as UTC text there), so the row reads back exactly as the ORM would have written it.
        values.append(
            [_field(name).get_db_prep_save(record[name], connection) for name in _COLUMNS]
        )
    payload = json.dumps(values, default=str)
    quote = connection.ops.quote_name
    columns = [_column(name) for name in _COLUMNS]
    target = ", ".join(quote(c) for c in (*columns, *_FIXED))
    if connection.vendor == "postgresql":
        casts = ("uuid", "uuid", "integer", "text", "timestamptz", "timestamptz")
        selected = ", ".join(f"(r.value->>{i})::{cast}" for i, cast in enumerate(casts))
        source = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(value, n)"
        order = "ORDER BY r.n"
    elif connection.vendor == "sqlite":
        selected = ", ".join(f"json_extract(r.value, '$[{i}]')" for i in range(len(_COLUMNS)))
        source = "json_each(%s) AS r"
        # "WHERE true" resolves SQLite's parsing ambiguity of INSERT ... SELECT ... ON CONFLICT.
        order = "WHERE true ORDER BY r.key"
    else:  # pragma: no cover - keyvault supports SQLite and PostgreSQL only
        raise NotImplementedError(f"outbox_insert does not support {connection.vendor}")
    fixed = ", ".join(_FIXED.values())
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({target}) "  # noqa: S608 - names from the model
        f"SELECT {selected}, {fixed} FROM {source} {order} "
        f"ON CONFLICT DO NOTHING RETURNING {quote(_column('status'))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return Counter(status for (status,) in cursor.fetchall())
