"""Prove the audit log still holds every signed checkpoint's head.

Trusts only the checkpoint file and the public keys given, never the database it checks and
never a key from settings: an auditor needs the public key alone. What passing proves: every
checkpoint was signed by a given key, the row at each checkpoint's ``seq`` has exactly the
signed hash, and the hash chain verifies from the first row to the head, so rows 1 to the last
checkpoint's ``seq`` are the ones that were signed (SHA-256 chaining). Rows after the last
checkpoint are protected by the chain only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Max

from keyvault.audit.chain import ChainReport, audit_verify
from keyvault.audit.checkpoints import Checkpoint, CheckpointFileError, checkpoints_read
from keyvault.crypto.signing import VerifyKey
from keyvault.models import AuditEvent

#: Checkpoint rows looked up per query.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class CheckpointReport:
    """The outcome: ``refused`` (the checkpoints cannot be trusted, nothing was proved), or the
    first checkpoint that no longer matches (``mismatch``) and the chain walk (``chain``)."""

    checkpoints: tuple[Checkpoint, ...] = ()
    refused: str | None = None
    mismatch: str | None = None
    chain: ChainReport | None = None

    @property
    def ok(self) -> bool:
        return (
            self.refused is None
            and self.mismatch is None
            and self.chain is not None
            and self.chain.ok
        )

    @property
    def latest(self) -> Checkpoint | None:
        """The checkpoint of the highest row (None when refused)."""
        return max(self.checkpoints, key=lambda c: c.seq, default=None)


def _signature_problem(checkpoint: Checkpoint, keys: dict[str, VerifyKey]) -> str | None:
    key = keys.get(checkpoint.key_id)
    if key is None:
        given = ", ".join(sorted(keys))
        return (
            f"{checkpoint.label} was signed by key {checkpoint.key_id}, not by the public key "
            f"given (key id {given}): wrong public key, or a checkpoint from another log"
        )
    if not key.verify(checkpoint.signature, checkpoint.message()):
        return (
            f"{checkpoint.label} has a signature that public key {key.key_id} does not verify: "
            "the line was forged or edited"
        )
    return None


def _stored_hashes(seqs: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(seqs))
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        stored.update(AuditEvent.objects.filter(seq__in=chunk).values_list("seq", "hash"))
    return stored


def _first_mismatch(checkpoints: Sequence[Checkpoint]) -> str | None:
    stored = _stored_hashes(c.seq for c in checkpoints)
    for checkpoint in sorted(checkpoints, key=lambda c: (c.seq, c.line)):
        found = stored.get(checkpoint.seq)
        if found == checkpoint.hash:
            continue
        if found is None:
            last = AuditEvent.objects.aggregate(last=Max("seq"))["last"]
            end = f"the log now ends at row #{last}" if last else "the log is empty"
            return (
                f"{checkpoint.label} no longer matches: row #{checkpoint.seq} is missing "
                f"({end}): rows were deleted or the log was truncated or wiped"
            )
        return (
            f"{checkpoint.label} no longer matches: row #{checkpoint.seq} has hash "
            f"{found[:12]}…, the signed head is {checkpoint.hash[:12]}…: the rows up to it were "
            "rewritten, or the log was rewound"
        )
    return None


def audit_verify_checkpoints(*, path: Path, public_keys: Sequence[VerifyKey]) -> CheckpointReport:
    """Check every checkpoint in ``path`` against ``public_keys``, then against the log.

    Refuses (``refused`` set, nothing checked in the database) when the file is unreadable,
    holds a line that is not a checkpoint, holds no checkpoint, or holds one whose signature no
    given key verifies. Otherwise reports the first checkpoint, lowest row first, whose row is
    missing or differs (``mismatch``), and walks the chain (``chain``).
    """
    try:
        checkpoints = tuple(checkpoints_read(path))
    except CheckpointFileError as exc:
        return CheckpointReport(refused=f"{path}: {exc}")
    except OSError as exc:
        return CheckpointReport(refused=f"cannot read {path}: {exc.strerror or exc}")
    if not checkpoints:
        return CheckpointReport(refused=f"{path} holds no checkpoint: nothing to verify against")
    keys = {key.key_id: key for key in public_keys}
    for checkpoint in checkpoints:
        problem = _signature_problem(checkpoint, keys)
        if problem is not None:
            return CheckpointReport(refused=problem)
    return CheckpointReport(
        checkpoints=checkpoints, mismatch=_first_mismatch(checkpoints), chain=audit_verify()
    )
