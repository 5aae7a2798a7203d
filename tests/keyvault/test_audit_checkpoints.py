"""Signed audit checkpoints: when they are written, what a line holds, and how other code finds
the one covering a row. Tests that need a commit (checkpoints are written after it) run with
``transaction=True``."""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import call_command
from django.db import transaction

from keyvault import tasks
from keyvault.audit.checkpoints import (
    audit_checkpoint_write,
    checkpoint_covering,
    checkpoint_file_append,
    checkpoint_sign,
    checkpoints_read,
)
from keyvault.crypto import signing
from keyvault.models import AuditEvent
from tests.factories import NOW
from tests.keyvault.checkpoint_helpers import append_events, public_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checkpoint_file(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "anchor" / "audit-checkpoints.jsonl"
    path.parent.mkdir()
    settings.KEYVAULT_AUDIT_CHECKPOINT_FILE = str(path)
    settings.KEYVAULT_AUDIT_CHECKPOINT_EVERY = 5
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_checkpoint_is_written_after_every_nth_event(checkpoint_file: Path) -> None:
    append_events(12)
    lines = _lines(checkpoint_file)
    assert [line["seq"] for line in lines] == [5, 10]
    hashes = dict(AuditEvent.objects.values_list("seq", "hash"))
    assert [line["hash"] for line in lines] == [hashes[5], hashes[10]]
    # Signed with the time of the event that was due the checkpoint.
    assert lines[0]["time"] == (NOW + timedelta(seconds=4)).isoformat(timespec="microseconds")


def test_each_line_is_one_json_object_that_the_public_key_verifies_by_the_documented_format(
    checkpoint_file: Path,
) -> None:
    append_events(5)
    raw = checkpoint_file.read_text()
    assert raw.count("\n") == 1 and raw.endswith("\n")
    line = json.loads(raw)
    assert set(line) == {"v", "seq", "hash", "time", "key_id", "sig"}
    assert line["v"] == 1
    assert line["key_id"] == signing.VerifyKey.parse(public_key()).key_id
    # Any Ed25519 tool can check it: the README's message format, the raw public key.
    message = f"keyvault-audit-checkpoint:v1:{line['seq']}:{line['hash']}:{line['time']}:"
    message += line["key_id"]
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key()))
    key.verify(base64.b64decode(line["sig"]), message.encode())  # raises if invalid


def test_no_checkpoint_is_written_for_events_whose_transaction_rolls_back(
    checkpoint_file: Path,
) -> None:
    append_events(4)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        append_events(1, start=4)  # #5 is due a checkpoint, but never commits
        raise Abort
    assert not checkpoint_file.exists()
    append_events(1, start=4)
    assert [line["seq"] for line in _lines(checkpoint_file)] == [5]


def test_a_checkpoint_signs_the_head_read_after_the_commit(checkpoint_file: Path) -> None:
    with transaction.atomic():
        append_events(7)  # #5 is due; the head is #7 by the time the transaction commits
        assert not checkpoint_file.exists()
    assert [line["seq"] for line in _lines(checkpoint_file)] == [7]


def test_writing_a_checkpoint_inside_a_transaction_is_refused(checkpoint_file: Path) -> None:
    append_events(1)
    with pytest.raises(RuntimeError, match="never inside a transaction"), transaction.atomic():
        audit_checkpoint_write(now=NOW)
    assert not checkpoint_file.exists()


def test_a_checkpoint_that_cannot_be_written_is_logged_and_the_events_stay_committed(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.KEYVAULT_AUDIT_CHECKPOINT_FILE = str(tmp_path / "no-such-folder" / "x.jsonl")
    settings.KEYVAULT_AUDIT_CHECKPOINT_EVERY = 1
    with caplog.at_level(logging.ERROR, logger="keyvault.audit.checkpoints"):
        append_events(1)
    assert AuditEvent.objects.count() == 1
    assert "audit checkpoint not written (FileNotFoundError" in caplog.text


def test_the_periodic_task_signs_the_head_even_when_nothing_happened_since(
    checkpoint_file: Path,
) -> None:
    append_events(3)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert tasks.write_audit_checkpoint() == 3
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert tasks.write_audit_checkpoint() == 3
    lines = _lines(checkpoint_file)
    assert [(line["seq"], line["time"]) for line in lines] == [
        (3, "2026-03-01T10:00:00.000000+00:00"),
        (3, "2026-03-01T11:00:00.000000+00:00"),
    ]


def test_the_periodic_task_writes_nothing_while_the_log_is_empty(checkpoint_file: Path) -> None:
    assert tasks.write_audit_checkpoint() is None
    assert not checkpoint_file.exists()


def test_beat_runs_the_checkpoint_task_at_least_hourly(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["keyvault-audit-checkpoint"]
    assert entry["task"] == tasks.write_audit_checkpoint.name
    assert entry["schedule"] <= timedelta(hours=1)


def test_concurrent_writers_append_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    key = signing.signing_key(signing.new_signing_key_pair()[0])
    made = [checkpoint_sign(seq=n + 1, hash=f"{n:064x}", now=NOW, key=key) for n in range(400)]

    def write(part: list[Any]) -> None:
        for checkpoint in part:
            checkpoint_file_append(path, checkpoint)

    threads = [threading.Thread(target=write, args=(made[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    read = list(checkpoints_read(path))  # every line parses: none interleaved or torn
    assert sorted(c.seq for c in read) == list(range(1, 401))
    assert all(key.public.verify(c.signature, c.message()) for c in read)


def test_checkpoint_covering_returns_the_latest_checkpoint_at_or_after_a_row(
    checkpoint_file: Path,
) -> None:
    append_events(12)  # checkpoints of #5 and #10
    tasks.write_audit_checkpoint()  # and of #12
    covering = checkpoint_covering(seq=7)
    assert covering is not None
    assert (covering.seq, covering.line) == (12, 3)
    assert covering.hash == AuditEvent.objects.get(seq=12).hash
    assert checkpoint_covering(seq=12) == covering
    assert checkpoint_covering(seq=13) is None


def test_checkpoint_covering_is_none_without_a_checkpoint_file(tmp_path: Path) -> None:
    assert checkpoint_covering(seq=1, path=tmp_path / "missing.jsonl") is None


def test_generate_audit_signing_key_prints_a_matching_pair() -> None:
    out = StringIO()
    call_command("generate_audit_signing_key", stdout=out)
    first, second, third = out.getvalue().splitlines()[:3]
    assert first.startswith("KEYVAULT_AUDIT_SIGNING_KEY=")
    private = signing.SigningKey.parse(first.removeprefix("KEYVAULT_AUDIT_SIGNING_KEY="))
    assert second == f"public key: {private.public.text}"
    assert third == f"key id: {private.public.key_id}"
    assert "Give the public key to auditors" in out.getvalue()


def test_generate_audit_signing_key_public_prints_the_configured_keys_public_half() -> None:
    out = StringIO()
    call_command("generate_audit_signing_key", "--public", stdout=out)
    assert out.getvalue().splitlines()[0] == f"public key: {public_key()}"
    assert "KEYVAULT_AUDIT_SIGNING_KEY" not in out.getvalue()
