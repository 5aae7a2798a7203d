"""Helpers for the signed-checkpoint tests: events appended through the real path (each in its
own committed transaction, so checkpoints are written as in production), the public key the
test settings' signing key pairs with, and an attacker's tools: raw SQL with the PostgreSQL
append-only trigger off, and a rewrite that re-hashes the whole chain with ``event_hash``."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from keyvault.audit.chain import GENESIS_HASH, audit_append, event_hash
from keyvault.crypto import signing
from keyvault.models import AuditAction, AuditChainHead, AuditEvent
from tests.factories import NOW

TABLE = AuditEvent._meta.db_table


def public_key() -> str:
    """Base64 public key of the test settings' ``KEYVAULT_AUDIT_SIGNING_KEY``."""
    return signing.signing_key(settings.KEYVAULT_AUDIT_SIGNING_KEY).public.text


def append_events(count: int, *, start: int = 0) -> None:
    """Append ``count`` events, each committed on its own (as requests and tasks do)."""
    for i in range(start, start + count):
        audit_append(
            action=AuditAction.LOGIN,
            now=NOW + timedelta(seconds=i),
            actor_label=f"user{i % 3}",
            ip="127.0.0.1",
            details={"i": i},
        )


@contextmanager
def tampering() -> Iterator[Any]:
    """A cursor that may rewrite audit rows, outside any test transaction: the PostgreSQL
    append-only trigger is off for the duration and always switched back on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER keyvault_auditevent_append_only")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"ALTER TABLE {TABLE} ENABLE TRIGGER keyvault_auditevent_append_only"
                )


def forged_event() -> AuditEvent:
    return AuditEvent(
        created_at=NOW,
        actor_label="mallory",
        action=AuditAction.LOGIN,
        details={"forged": True},
    )


def rewrite_chain(change: Callable[[list[AuditEvent]], None]) -> None:
    """Rewrite history as someone with database write access and the code would: apply
    ``change`` to the list of events, renumber them, recompute every ``prev_hash`` and ``hash``
    with the chain's own ``event_hash``, replace every row and move the head to the new tip."""
    events = [copy.copy(e) for e in AuditEvent.objects.order_by("seq")]
    change(events)
    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        event.pk = None
        event.seq = seq
        event.prev_hash = prev
        event.hash = prev = event_hash(event)
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
    AuditEvent.objects.bulk_create(events)
    AuditChainHead.objects.filter(pk=1).update(seq=len(events), hash=prev)


def truncate(*, keep: int) -> None:
    """Delete every row after ``keep`` and rewind the head to it (``keep=0``: wipe the log)."""
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq > %s", [keep])  # noqa: S608
    tip = AuditEvent.objects.filter(seq=keep).values_list("hash", flat=True).first()
    AuditChainHead.objects.filter(pk=1).update(seq=keep, hash=tip or GENESIS_HASH)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``manage.py`` pointed at this test's database."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, **extra}
