"""Insert reminder outbox rows in one statement, whatever their number.

Django's ``bulk_create`` splits an insert into batches of at most 999 parameters on SQLite, so
the scan's query count would grow with the number of reminders owed. Here the rows travel as
one JSON parameter and the database unpacks them (``json_each`` on SQLite,
``jsonb_array_elements`` on PostgreSQL): one ``INSERT ... SELECT`` for 5 rows or 100,000, with
``ON CONFLICT DO NOTHING`` on the unique (credential, threshold, channel) key so a repeated or
concurrent scan inserts nothing twice. ``RETURNING status`` tells what was really inserted.

The JSON holds one item per (credential, channel) with that pair's rows under it,
``[credential, channel, [[threshold, status, due_at], ...]]``, and the common ``created_at`` is
a parameter of its own: a first scan writes a dozen rows for a credential weeks overdue, and
repeating its ids and timestamps on every row made the payload (and the copies the database
driver makes of it) three times larger.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple
from uuid import UUID

from django.db import connection, models

from alerts.models import Reminder, ReminderPlan, ReminderStatus

#: Columns filled from each pair's item, then from each of its rows; the others get fixed
#: values (``created_at`` the one parameter).
_PAIR_COLUMNS = ("credential_id", "channel_id")
_ROW_COLUMNS = ("threshold", "status", "due_at")
_FIXED = {"attempts": "0", "last_error": "''", "possible_duplicate": "FALSE"}


def _field(name: str) -> models.Field[object, object]:
    found = Reminder._meta.get_field(name)
    assert isinstance(found, models.Field) and found.column
    return found


def _column(name: str) -> str:
    return str(_field(name).column)


class NewReminders(NamedTuple):
    """The outbox rows to insert for one (credential, channel): ``rows`` holds each row's
    ``(threshold, status, due_at)``, one row per threshold.

    Grouped because a first scan owes a dozen rows for a credential weeks overdue: the ids
    are given (and sent to the database) once per pair, not once per row.
    """

    credential_id: UUID
    channel_id: UUID
    rows: list[tuple[int, ReminderStatus, datetime]]


# The unique key's order; UUIDs by their integer value (the same order as their text, and
# computed in C).
_PAIR_ORDER = attrgetter("credential_id.int", "channel_id.int")


class _DatabaseText(dict[object, str]):
    """The database's own representation, as text, of the UUIDs and datetimes JSON cannot
    carry (UUID as hex on SQLite, datetimes as UTC text there), so rows read back exactly as
    the ORM would have written them. Each distinct value is converted once: rows share most of
    them (a credential's thresholds, a few channels, a few hundred due days)."""

    def __missing__(self, value: object) -> str:
        if isinstance(value, UUID):
            field = _field("credential_id")  # the channel's key is a UUID field too
        elif isinstance(value, datetime):
            field = _field("due_at")
        else:
            raise TypeError(f"{type(value).__name__} is not an outbox value")
        text = str(field.get_db_prep_save(value, connection))
        self[value] = text
        return text


def outbox_insert(pairs: list[NewReminders], *, now: datetime) -> Counter[str]:
    """Insert the rows of ``pairs`` (created at ``now``), skipping any whose key already exists.

    Returns how many rows were inserted per status. Rows are inserted in key order, so two
    concurrent inserts of overlapping rows take the unique index's locks in the same order and
    cannot deadlock. Runs one statement; call it inside the scan's transaction.
    """
    if not any(pair.rows for pair in pairs):
        return Counter()
    meta = Reminder._meta
    # Thresholds are unique within a pair: rows sort by threshold alone. Thresholds are ints
    # and statuses str choices: JSON carries them as they are.
    items = [
        [pair.credential_id, pair.channel_id, sorted(pair.rows)]
        for pair in sorted(pairs, key=_PAIR_ORDER)
        if pair.rows
    ]
    payload = json.dumps(items, default=_DatabaseText().__getitem__)
    del items  # the payload is what the statement needs; keep the peak memory down
    created_at = _field("created_at").get_db_prep_save(now, connection)
    quote = connection.ops.quote_name
    columns = [_column(name) for name in (*_PAIR_COLUMNS, *_ROW_COLUMNS, "created_at")]
    target = ", ".join(quote(c) for c in (*columns, *_FIXED))
    if connection.vendor == "postgresql":
        selected = ", ".join(
            [
                *(f"(p.value->>{i})::uuid" for i in range(len(_PAIR_COLUMNS))),
                "(r.value->>0)::integer",
                "r.value->>1",
                "(r.value->>2)::timestamptz",
                "%s::timestamptz",
            ]
        )
        source = (
            "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS p(value, n) "
            "CROSS JOIN LATERAL jsonb_array_elements(p.value->2) WITH ORDINALITY AS r(value, m)"
        )
        order = "ORDER BY p.n, r.m"
    elif connection.vendor == "sqlite":
        selected = ", ".join(
            [
                *(f"p.c{i}" for i in range(len(_PAIR_COLUMNS))),
                *(f"json_extract(r.value, '$[{i}]')" for i in range(len(_ROW_COLUMNS))),
                "%s",
            ]
        )
        pair = ", ".join(
            f"json_extract(value, '$[{i}]') AS c{i}" for i in range(len(_PAIR_COLUMNS))
        )
        # Each pair's ids are read once in a subquery; "LIMIT -1" keeps SQLite from folding it
        # into the outer query, where it would parse the pair's JSON again for every row.
        source = (
            f"(SELECT key AS n, {pair}, json_extract(value, '$[2]') AS pair_rows "  # noqa: S608
            "FROM json_each(%s) LIMIT -1) AS p, json_each(p.pair_rows) AS r"
        )
        # "WHERE true" resolves SQLite's parsing ambiguity of INSERT ... SELECT ... ON CONFLICT.
        order = "WHERE true ORDER BY p.n, r.key"
    else:  # pragma: no cover - keyvault supports SQLite and PostgreSQL only
        raise NotImplementedError(f"outbox_insert does not support {connection.vendor}")
    fixed = ", ".join(_FIXED.values())
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({target}) "  # noqa: S608 - names from the model
        f"SELECT {selected}, {fixed} FROM {source} {order} "
        f"ON CONFLICT DO NOTHING RETURNING {quote(_column('status'))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [created_at, payload])
        return Counter(status for (status,) in cursor.fetchall())


def plans_record(plans: list[tuple[UUID, datetime, datetime]], *, config: str) -> int:
    """Insert or replace the ``ReminderPlan`` of each ``(credential_id, expires_at, next_at)``,
    made with ``config``, in one statement whatever their number; returns how many."""
    if not plans:
        return 0
    payload = json.dumps(sorted(plans), default=_DatabaseText().__getitem__)
    quote = connection.ops.quote_name
    meta = ReminderPlan._meta
    columns = [
        str(meta.get_field(name).column)  # type: ignore[union-attr]
        for name in ("credential", "expires_at", "next_at", "config")
    ]
    if connection.vendor == "postgresql":
        selected = "(v->>0)::uuid, (v->>1)::timestamptz, (v->>2)::timestamptz, %s"
        source = "jsonb_array_elements(%s::jsonb) AS v"
    elif connection.vendor == "sqlite":
        selected = (
            "json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]'), %s"
        )
        source = "json_each(%s) WHERE true"  # see outbox_insert for "WHERE true"
    else:  # pragma: no cover - keyvault supports SQLite and PostgreSQL only
        raise NotImplementedError(f"plans_record does not support {connection.vendor}")
    updated = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns[1:])
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"SELECT {selected} FROM {source} "
        f"ON CONFLICT ({quote(columns[0])}) DO UPDATE SET {updated}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [config, payload])
        return len(plans)
