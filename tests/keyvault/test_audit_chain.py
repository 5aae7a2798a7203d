"""The audit hash chain: append-only at ORM and database level, tamper detection, concurrency."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from keyvault.audit.chain import GENESIS_HASH, audit_append, audit_verify, event_hash
from keyvault.models import AuditAction, AuditChainHead, AuditEvent
from tests.factories import NOW

ROOT = Path(__file__).resolve().parents[2]
TABLE = AuditEvent._meta.db_table


def _append(count: int, *, start: int = 0, chunk: int = 200) -> None:
    """Append ``count`` events through the real code path, ``chunk`` per transaction."""
    for first in range(start, start + count, chunk):
        with transaction.atomic():
            for i in range(first, min(first + chunk, start + count)):
                _append_one(i)


def _append_one(i: int) -> None:
    audit_append(
        action=AuditAction.LOGIN,
        now=NOW + timedelta(seconds=i),
        actor_label=f"user{i % 7}",
        ip="2001:0db8:0000:0000:0000:0000:0000:0001" if i % 2 else "127.0.0.1",
        details={"i": i, "note": f"event {i}", "nested": {"é": [1, 2]}},
    )


@contextmanager
def _tampering() -> Iterator[Any]:
    """A cursor that may rewrite audit rows: the PostgreSQL append-only trigger is disabled for
    the duration (inside the test's transaction, so the rollback re-enables it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER keyvault_auditevent_append_only")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER keyvault_auditevent_append_only")


def _problem() -> tuple[int, str]:
    report = audit_verify()
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem.seq, report.problem.message


def _command_error() -> str:
    with pytest.raises(CommandError) as exc:
        call_command("verify_audit_log")
    return str(exc.value)


# --- append-only --------------------------------------------------------------------------------


def test_orm_refuses_to_update_or_delete_audit_rows(db: Any) -> None:
    _append(2)
    event = AuditEvent.objects.get(seq=1)
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(seq=1).update(actor_label="mallory")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(seq=1).delete()
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["actor_label"])
    event.actor_label = "mallory"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert audit_verify().ok


def test_raw_sql_tampering_is_refused_by_postgresql_and_caught_elsewhere(db: Any) -> None:
    _append(3)
    if connection.vendor == "postgresql":
        for sql in (f"UPDATE {TABLE} SET actor_label = 'x'", f"DELETE FROM {TABLE}"):  # noqa: S608
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                connection.cursor().execute(sql)
        assert audit_verify().ok
    else:
        # SQLite has no such trigger (it would also block Django's test flush): the chain
        # verification is what catches a raw edit there.
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET actor_label = 'x' WHERE seq = 2")  # noqa: S608
        assert _problem()[0] == 2


def test_appends_chain_each_row_to_the_one_before(db: Any) -> None:
    _append(3)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert all(event_hash(e) == e.hash for e in events)
    head = AuditChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (3, events[2].hash)
    # IPv6 is stored compressed; the hash was computed over that form.
    assert events[1].ip == "2001:db8::1"


# --- tamper detection ---------------------------------------------------------------------------


def _bulk_chain(count: int) -> None:
    """Write ``count`` correctly chained rows in bulk (what ``audit_append`` would write, without
    its per-row round trips), then move the chain head to the last one."""
    prev, batch = GENESIS_HASH, []
    for seq in range(1, count + 1):
        event = AuditEvent(
            seq=seq,
            created_at=NOW + timedelta(seconds=seq),
            actor_label=f"user{seq % 7}",
            action=AuditAction.CREDENTIAL_REVEALED,
            target_type="credential",
            target_id=f"{seq:032x}",
            ip="10.0.0.1",
            details={"hint": f"{seq % 10000:04d}", "state": "current"},
            prev_hash=prev,
        )
        event.hash = prev = event_hash(event)
        batch.append(event)
    AuditEvent.objects.bulk_create(batch, batch_size=2000)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"seq": count, "hash": prev})


def test_verify_passes_on_an_untouched_log_of_ten_thousand_rows(db: Any) -> None:
    _bulk_chain(9_990)
    _append(10, start=9_990)  # the real append path continues the bulk-written chain
    assert "audit log OK: 10000 rows checked" in _run_command_stdout()


def _run_command_stdout() -> str:
    buffer = StringIO()
    call_command("verify_audit_log", stdout=buffer)
    return buffer.getvalue()


def test_verify_names_an_edited_row(db: Any) -> None:
    _append(20)
    with _tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET actor_label = 'mallory' WHERE seq = 7")  # noqa: S608
    assert _problem() == (7, "row #7 was edited: its content no longer matches its hash")
    assert "row #7" in _command_error()


def test_verify_names_an_edited_and_rehashed_row_by_the_broken_link(db: Any) -> None:
    _append(20)
    forged = AuditEvent.objects.get(seq=7)
    forged.details = {"i": 6, "note": "nothing happened"}
    with _tampering() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET details = %s, hash = %s WHERE seq = 7",  # noqa: S608
            ['{"i": 6, "note": "nothing happened"}', event_hash(forged)],
        )
    seq, message = _problem()
    assert seq == 8
    assert "row #7 was edited and re-hashed" in message


def test_verify_names_a_deleted_row(db: Any) -> None:
    _append(20)
    with _tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = 7")  # noqa: S608
    assert _problem() == (7, "row #7 is missing: deleted (the next row is #8)")
    assert "row #7" in _command_error()


def test_verify_names_rows_deleted_from_the_end(db: Any) -> None:
    _append(20)
    with _tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq >= 19")  # noqa: S608
    seq, message = _problem()
    assert seq == 19
    assert "deleted from the end" in message


def _forge(*, seq: int, prev_hash: str) -> AuditEvent:
    event = AuditEvent(
        seq=seq,
        created_at=NOW,
        actor_label="mallory",
        action=AuditAction.LOGIN,
        details={"forged": True},
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    return event


def test_verify_names_a_row_inserted_in_the_middle(db: Any) -> None:
    _append(20)
    with _tampering() as cursor:
        # Make room at #8 in two steps (a unique column cannot shift in place).
        cursor.execute(f"UPDATE {TABLE} SET seq = seq + 1000000 WHERE seq >= 8")  # noqa: S608
        cursor.execute(f"UPDATE {TABLE} SET seq = seq - 999999 WHERE seq >= 1000000")  # noqa: S608
    # Inserting is what the ORM allows; the forged row even chains correctly to #7.
    _forge(seq=8, prev_hash=AuditEvent.objects.get(seq=7).hash).save(force_insert=True)
    assert _problem() == (8, "row #8 was inserted: row #9 links to row #7")
    assert "row #8 was inserted" in _command_error()


def test_verify_names_a_row_appended_behind_the_chain_heads_back(db: Any) -> None:
    _append(20)
    _forge(seq=21, prev_hash=AuditEvent.objects.get(seq=20).hash).save(force_insert=True)
    assert _problem() == (21, "row #21 was inserted after the chain head (row #20)")


def test_verify_names_two_swapped_rows(db: Any) -> None:
    _append(20)
    with _tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET seq = 1000000 WHERE seq = 7")  # noqa: S608
        cursor.execute(f"UPDATE {TABLE} SET seq = 7 WHERE seq = 8")  # noqa: S608
        cursor.execute(f"UPDATE {TABLE} SET seq = 8 WHERE seq = 1000000")  # noqa: S608
    assert _problem() == (7, "rows #7 and #8 were swapped")
    assert "swapped" in _command_error()


def test_verify_catches_a_rewritten_tail_that_the_head_does_not_match(db: Any) -> None:
    _append(20)
    # Re-hash every row from #15 on, as someone rewriting history with the code would.
    prev = AuditEvent.objects.get(seq=14).hash
    with _tampering() as cursor:
        for event in AuditEvent.objects.filter(seq__gte=15).order_by("seq"):
            event.actor_label = "mallory"
            event.prev_hash = prev
            event.hash = prev = event_hash(event)
            cursor.execute(
                f"UPDATE {TABLE} SET actor_label = %s, prev_hash = %s, hash = %s "  # noqa: S608
                "WHERE seq = %s",
                [event.actor_label, event.prev_hash, event.hash, event.seq],
            )
    seq, message = _problem()
    assert seq == 20
    assert "chain head" in message


# --- concurrency and the command's exit status ------------------------------------------------

WRITER = """
import os, sys, time, django
django.setup()
from django.utils import timezone
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction
name, count, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
open(go + "." + name, "w").close()  # ready
while not os.path.exists(go):
    time.sleep(0.01)
start = time.time()
for i in range(count):
    audit_append(action=AuditAction.LOGIN, now=timezone.now(), actor_label=f"{name}-{i}")
with open(go + "." + name + ".span", "w") as fh:
    fh.write(f"{start} {time.time()}")
"""


def _subprocess_env() -> dict[str, str]:
    """Point child processes at the test database this test uses."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_several_processes_keep_one_valid_chain(tmp_path: Path) -> None:
    AuditChainHead.objects.get_or_create(pk=1)
    go = tmp_path / "go"
    writers, per_writer = 4, 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{n}", str(per_writer), str(go)],
            cwd=ROOT,
            env=_subprocess_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    # Wait until every process has finished Django's set-up, then release them together.
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"go.w{n}").exists() for n in range(writers)):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(p.poll() is None for p in procs), "a writer exited early"
        time.sleep(0.02)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err

    report = audit_verify()
    assert report.ok, report.problem
    assert report.checked == writers * per_writer
    labels = list(AuditEvent.objects.order_by("seq").values_list("actor_label", flat=True))
    # The writers really ran at the same time: every one started before any one finished.
    spans = [
        tuple(map(float, (tmp_path / f"go.w{n}.span").read_text().split())) for n in range(writers)
    ]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    if connection.vendor == "postgresql":
        # PostgreSQL queues lock waiters in order, so their appends interleave. (SQLite's
        # busy handler is not fair: one writer may keep the lock, and the chain must hold anyway.)
        switches = sum(a.split("-")[0] != b.split("-")[0] for a, b in itertools.pairwise(labels))
        assert switches >= writers
    # Each writer's own events stay in its order.
    for n in range(writers):
        mine = [int(x.split("-")[1]) for x in labels if x.startswith(f"w{n}-")]
        assert mine == list(range(per_writer))


@pytest.mark.django_db(transaction=True)
def test_verify_audit_log_command_exit_status() -> None:
    _append(5)
    command = [sys.executable, "manage.py", "verify_audit_log"]
    clean = subprocess.run(command, cwd=ROOT, env=_subprocess_env(), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert "5 rows checked" in clean.stdout

    with _tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET action = 'auth.logout' WHERE seq = 3")  # noqa: S608
    bad = subprocess.run(command, cwd=ROOT, env=_subprocess_env(), capture_output=True, text=True)
    assert bad.returncode != 0
    assert "row #3 was edited" in bad.stderr
