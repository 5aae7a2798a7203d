"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint is the chain head (``seq``, ``hash``) at a moment, signed with the Ed25519 key in
``KEYVAULT_AUDIT_SIGNING_KEY`` and appended as one JSON line to
``KEYVAULT_AUDIT_CHECKPOINT_FILE``::

    {"v": 1, "seq": 1000, "hash": "<64 hex>", "time": "2026-03-01T09:00:00.000000+00:00",
     "key_id": "<16 hex>", "sig": "<base64 Ed25519 signature>"}

The signature covers the UTF-8 bytes of
``keyvault-audit-checkpoint:v1:<seq>:<hash>:<time>:<key_id>``, so anyone with the public key can
check a line with any Ed25519 tool. One is written after the commit of every
``KEYVAULT_AUDIT_CHECKPOINT_EVERY``-th event and by the periodic task (at least hourly). Nothing
of it is stored in the database: verification (``checkpoint_verify``) must not trust the
database it checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

from keyvault.crypto import signing
from keyvault.models import AuditChainHead

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MESSAGE_PREFIX = "keyvault-audit-checkpoint:v1"


class CheckpointFileError(ValueError):
    """A line of the checkpoint file is not a checkpoint (names the line, never guesses)."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement "the chain head was row ``seq`` with ``hash`` at ``time``"."""

    seq: int
    hash: str
    #: ISO 8601 in UTC, exactly as signed.
    time: str
    key_id: str
    signature: bytes
    #: 1-based line number in the file it was read from (0 when not read from a file).
    line: int = 0

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return checkpoint_message(seq=self.seq, hash=self.hash, time=self.time, key_id=self.key_id)

    def to_line(self) -> str:
        """The checkpoint as one line of the file, newline included."""
        doc = {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "key_id": self.key_id,
            "sig": base64.b64encode(self.signature).decode("ascii"),
        }
        return json.dumps(doc, separators=(",", ":")) + "\n"

    @property
    def label(self) -> str:
        """How messages name it: "the checkpoint of row #1000 signed 2026-… (line 3)"."""
        where = f" (line {self.line})" if self.line else ""
        return f"the checkpoint of row #{self.seq} signed {self.time}{where}"


def checkpoint_message(*, seq: int, hash: str, time: str, key_id: str) -> bytes:
    """The signed bytes for a checkpoint: fixed prefix, then its fields joined by ``:``."""
    return f"{MESSAGE_PREFIX}:{seq}:{hash}:{time}:{key_id}".encode()


def checkpoint_sign(*, seq: int, hash: str, now: datetime, key: signing.SigningKey) -> Checkpoint:
    """Sign the head (``seq``, ``hash``) as seen at ``now`` with ``key``."""
    time = now.astimezone(UTC).isoformat(timespec="microseconds")
    key_id = key.public.key_id
    message = checkpoint_message(seq=seq, hash=hash, time=time, key_id=key_id)
    return Checkpoint(seq, hash, time, key_id, key.sign(message))


def checkpoint_file() -> Path:
    """Where checkpoints are appended (``KEYVAULT_AUDIT_CHECKPOINT_FILE``)."""
    return Path(settings.KEYVAULT_AUDIT_CHECKPOINT_FILE)


def checkpoint_file_append(path: Path, checkpoint: Checkpoint) -> None:
    """Append ``checkpoint`` to ``path`` as one line, durably.

    Safe with concurrent writers (processes included): ``O_APPEND`` positions each ``write`` at
    the end, the line goes out in one ``write``, and ``fsync`` makes it durable before this
    returns. Raises ``OSError`` when it cannot (the folder is missing, the disk is full).
    """
    data = checkpoint.to_line().encode("utf-8")
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        # The new file's name must survive a crash too.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def audit_checkpoint_write(*, now: datetime) -> Checkpoint | None:
    """Sign the committed chain head and append it to the checkpoint file; return it.

    Returns None when the log is still empty (there is nothing to anchor). Must run outside any
    transaction: a head read inside one might never commit, and the file is I/O that a rollback
    cannot undo, so it raises ``RuntimeError`` there. Raises ``ImproperlyConfigured`` when the
    signing key is malformed and ``OSError`` when the file cannot be written.
    """
    if connection.in_atomic_block:
        raise RuntimeError("audit checkpoints are written after commit, never inside a transaction")
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is None or head[0] == 0:
        return None
    key = signing.signing_key(settings.KEYVAULT_AUDIT_SIGNING_KEY)
    checkpoint = checkpoint_sign(seq=head[0], hash=head[1], now=now, key=key)
    checkpoint_file_append(checkpoint_file(), checkpoint)
    logger.info("audit checkpoint written: row #%s", checkpoint.seq)
    return checkpoint


def checkpoint_due(seq: int) -> bool:
    """Whether appending row ``seq`` calls for a checkpoint (every N-th row)."""
    return seq % settings.KEYVAULT_AUDIT_CHECKPOINT_EVERY == 0


def audit_checkpoint_after_commit(*, now: datetime) -> None:
    """``audit_checkpoint_write`` for an ``on_commit`` hook: a failure is logged, not raised,
    because the events it would anchor are already committed; the periodic task writes the next
    checkpoint."""
    try:
        audit_checkpoint_write(now=now)
    except Exception as exc:
        logger.error("audit checkpoint not written (%s: %s)", type(exc).__name__, exc)


def checkpoint_parse(text: str, *, line: int = 0) -> Checkpoint:
    """Parse one line of the checkpoint file; raises ``CheckpointFileError``.

    The signature is not checked here (``checkpoint_verify`` does that with a public key).
    """
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("v") != FORMAT_VERSION:
            raise ValueError
        seq, hash_, time, key_id, sig = (
            doc["seq"],
            doc["hash"],
            doc["time"],
            doc["key_id"],
            doc["sig"],
        )
        if not (isinstance(seq, int) and seq > 0 and not isinstance(seq, bool)):
            raise ValueError
        if not all(isinstance(v, str) for v in (hash_, time, key_id, sig)):
            raise ValueError
        signature = base64.b64decode(sig, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise CheckpointFileError(f"line {line} is not a keyvault audit checkpoint") from None
    return Checkpoint(seq, hash_, time, key_id, signature, line)


def checkpoints_read(path: Path) -> Iterator[Checkpoint]:
    """Every checkpoint in ``path``, in file order. Raises ``CheckpointFileError`` at the first
    line that is not one (blank lines are skipped) and ``OSError`` when the file is unreadable.
    """
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if text.strip():
                yield checkpoint_parse(text, line=number)


def checkpoint_covering(*, seq: int, path: Path | None = None) -> Checkpoint | None:
    """The latest checkpoint that covers row ``seq`` (one signed at row ``seq`` or later), from
    the checkpoint file (``KEYVAULT_AUDIT_CHECKPOINT_FILE`` unless ``path`` is given).

    For exports and reports: "these rows are anchored by that signed head". Returns None when no
    checkpoint covers ``seq`` yet or the file does not exist. Lines that are not checkpoints are
    skipped; signatures are not checked (``verify_audit_log --checkpoints`` does that).
    """
    path = path or checkpoint_file()
    latest: Checkpoint | None = None
    try:
        with path.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, start=1):
                try:
                    checkpoint = checkpoint_parse(text, line=number)
                except CheckpointFileError:
                    continue
                if checkpoint.seq >= seq:
                    latest = checkpoint
    except FileNotFoundError:
        return None
    return latest
