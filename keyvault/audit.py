"""The audit hash chain: append events and verify the chain.

Each event's ``hash`` is SHA-256 over a canonical JSON of its content plus the previous event's
hash. Appends lock the single ``AuditChainHead`` row, so concurrent writers (threads or processes)
queue up and never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

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


def event_hash(event: AuditEvent) -> str:
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
            ip=event.ip,
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
    ``details`` must hold metadata only, never a secret. Runs in (or opens) a transaction.
    """
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id: int | None = actor.pk
        actor_label = actor_label or actor.get_username()
    else:
        actor_id = None
    target_type = target._meta.model_name if target is not None else ""
    target_id = str(target.pk) if target is not None else ""
    details = dict(details or {})
    # Round-trip through JSON now so the hash is computed over what the database will return.
    details = json.loads(json.dumps(details, default=str))
    with transaction.atomic():
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
    return event


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the chain does not hold."""

    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events_in_order(chunk_size: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)


def audit_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in ``seq`` order and report the first edited, deleted, inserted or
    reordered row, or ``ok`` with the number of rows checked."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for event in _events_in_order(chunk_size):
        if event.seq != expected_seq:
            kind = "deleted" if event.seq > expected_seq else "duplicated"
            return ChainReport(
                checked,
                ChainProblem(
                    expected_seq,
                    f"row #{expected_seq} is missing ({kind} rows before #{event.seq})",
                ),
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                checked,
                ChainProblem(
                    event.seq,
                    f"row #{event.seq} does not follow row #{event.seq - 1} "
                    "(inserted, deleted or reordered rows)",
                ),
            )
        if event_hash(event) != event.hash:
            return ChainReport(
                checked, ChainProblem(event.seq, f"row #{event.seq} was edited (hash mismatch)")
            )
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != checked or head.hash != prev_hash):
        return ChainReport(
            checked,
            ChainProblem(
                checked + 1,
                f"the chain ends at row #{checked} but its head records "
                f"row #{head.seq}: rows at the end were deleted",
            ),
        )
    return ChainReport(checked, None)
