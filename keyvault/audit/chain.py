"""The audit hash chain: append events and verify the chain.

Each event's ``hash`` is SHA-256 over a canonical JSON of its content plus the previous event's
hash. Appends lock the single ``AuditChainHead`` row, so concurrent writers (threads or processes)
queue up and never fork the chain. Every ``KEYVAULT_AUDIT_CHECKPOINT_EVERY``-th append has a
signed checkpoint written once its transaction commits (``keyvault.audit.checkpoints``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import GenericIPAddressField

from keyvault.audit.checkpoints import audit_checkpoint_after_commit, checkpoint_due
from keyvault.models import AuditAction, AuditChainHead, AuditEvent, Integration

GENESIS_HASH = "0" * 64


def _content(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    integration_id: str | None,
    target_type: str,
    target_id: str,
    ip: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    doc = {
        "seq": seq,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor": actor_label,
        "action": action,
        "integration_id": integration_id,
        "target_type": target_type,
        "target_id": target_id,
        "ip": ip,
        "details": details,
        "prev": prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_IP_FIELD = GenericIPAddressField()


def _normalise_ip(ip: object) -> str | None:
    """The address in the form the database returns (IPv6 compressed), so the hash computed
    before saving matches the one recomputed from the stored row."""
    if ip is None or ip == "":
        return None
    return _IP_FIELD.to_python(str(ip))


class ChainRow(NamedTuple):
    """The columns of an audit row that the chain covers (cheaper to load than a model)."""

    seq: int
    created_at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    integration_id: Any
    target_type: str
    target_id: str
    ip: Any
    details: Any
    prev_hash: str
    hash: str


def event_hash(event: AuditEvent | ChainRow) -> str:
    """Recompute an event's hash from its stored content."""
    return hashlib.sha256(
        _content(
            seq=event.seq,
            created_at=event.created_at,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            action=event.action,
            integration_id=str(event.integration_id) if event.integration_id else None,
            target_type=event.target_type,
            target_id=event.target_id,
            ip=str(event.ip) if event.ip is not None else None,
            details=event.details,
            prev_hash=event.prev_hash,
        )
    ).hexdigest()


def audit_append(
    *,
    action: AuditAction,
    now: datetime,
    actor: Any = None,
    actor_label: str = "",
    integration: Integration | None = None,
    target: Any = None,
    ip: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    ``actor`` is a user (or None for the system); ``target`` any model instance with a pk.
    ``details`` must hold metadata only, never a secret. Runs in (or opens) a transaction and
    holds the chain head's row lock until that transaction ends, so appends are serialised.
    When the new row's ``seq`` is due a checkpoint, one is signed and written after that
    transaction commits (never inside it; nothing is written if it rolls back).
    """
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id: int | None = actor.pk
        actor_label = actor_label or actor.get_username()
    else:
        actor_id = None
    target_type = target._meta.model_name if target is not None else ""
    target_id = str(target.pk) if target is not None else ""
    ip = _normalise_ip(ip)
    details = dict(details or {})
    # Round-trip through JSON now so the hash is computed over what the database will return
    # (NaN is refused: PostgreSQL's jsonb cannot store it).
    details = json.loads(json.dumps(details, default=str, allow_nan=False))
    # No savepoint: if the append fails, the change it records must not commit either, so the
    # caller's whole transaction is marked for rollback.
    with transaction.atomic(savepoint=False):
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        seq = head.seq + 1
        event = AuditEvent(
            seq=seq,
            created_at=now,
            actor_id=actor_id,
            actor_label=actor_label[:150],
            action=action,
            integration_id=integration.pk if integration is not None else None,
            target_type=target_type,
            target_id=target_id,
            ip=ip,
            details=details,
            prev_hash=head.hash,
        )
        event.hash = event_hash(event)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=event.hash)
        if checkpoint_due(seq):
            transaction.on_commit(partial(audit_checkpoint_after_commit, now=now))
    return event


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the chain does not hold: the row named and what happened to it."""

    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _head_snapshot() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    return head if head is not None else (0, GENESIS_HASH)


def _link_problem(
    event: ChainRow, nxt: ChainRow | None, *, prev: str, before_prev: str
) -> ChainProblem:
    """Explain why ``event`` does not link to the row before it, looking one row ahead."""
    seq = event.seq
    if seq > 1 and event.prev_hash == before_prev:
        return ChainProblem(
            seq - 1, f"row #{seq - 1} was inserted: row #{seq} links to row #{seq - 2}"
        )
    if nxt is not None and nxt.prev_hash == prev and event.prev_hash == nxt.hash:
        return ChainProblem(seq, f"rows #{seq} and #{nxt.seq} were swapped")
    return ChainProblem(
        seq,
        f"row #{seq} does not follow row #{seq - 1}: rows were reordered or deleted here, "
        f"or row #{seq - 1} was edited and re-hashed",
    )


def audit_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in ``seq`` order; report the first edited, deleted, inserted or
    reordered row, or ``ok`` with the number of rows checked.

    Safe while others append: the chain head is read before and after the walk, and rows
    appended meanwhile are judged against those two snapshots rather than reported as inserted.
    """
    head_seq, head_hash = _head_snapshot()
    events = (
        ChainRow._make(row)
        for row in AuditEvent.objects.order_by("seq")
        .values_list(*ChainRow._fields)
        .iterator(chunk_size=chunk_size)
    )
    expected_seq, prev, before_prev = 1, GENESIS_HASH, GENESIS_HASH
    checked = 0
    event = next(events, None)
    while event is not None:
        nxt = next(events, None)
        if event.seq != expected_seq:
            return ChainReport(
                checked,
                ChainProblem(
                    expected_seq,
                    f"row #{expected_seq} is missing: deleted (the next row is #{event.seq})",
                ),
            )
        if event.prev_hash != prev:
            return ChainReport(
                checked, _link_problem(event, nxt, prev=prev, before_prev=before_prev)
            )
        if event_hash(event) != event.hash:
            return ChainReport(
                checked,
                ChainProblem(
                    event.seq,
                    f"row #{event.seq} was edited: its content no longer matches its hash",
                ),
            )
        if event.seq == head_seq and event.hash != head_hash:
            return ChainReport(
                checked,
                ChainProblem(
                    event.seq,
                    f"row #{event.seq} does not match the chain head: the rows up to it were "
                    "rewritten and re-hashed",
                ),
            )
        before_prev, prev = prev, event.hash
        expected_seq += 1
        checked += 1
        event = nxt
    if checked < head_seq:
        return ChainReport(
            checked,
            ChainProblem(
                checked + 1,
                f"rows #{checked + 1} to #{head_seq} are missing: deleted from the end "
                f"(the chain head records row #{head_seq})",
            ),
        )
    final_seq, final_hash = _head_snapshot()
    if checked > final_seq or (checked == final_seq and prev != final_hash):
        first = final_seq + 1 if checked > final_seq else checked
        return ChainReport(
            checked,
            ChainProblem(
                first,
                f"row #{first} was inserted after the chain head (row #{final_seq})"
                if checked > final_seq
                else f"row #{first} does not match the chain head: it was replaced",
            ),
        )
    return ChainReport(checked, None)
