"""Re-encrypt every stored secret under the first key of the ring.

Safe to interrupt and to run again: each row is rewritten on its own with a conditional UPDATE
(only if it still holds the ciphertext that was read), old keys stay in the ring until the run
reports nothing left, so every row decrypts at every moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import models, transaction

from keyvault.audit.chain import audit_append
from keyvault.crypto import cipher
from keyvault.models import AuditAction, EncryptedFieldsMixin


@dataclass
class ReencryptReport:
    primary_key_id: str
    reencrypted: int = 0
    already_current: int = 0
    empty: int = 0
    failed: list[str] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed and not self.stopped_early


def encrypted_columns() -> Iterator[tuple[type[EncryptedFieldsMixin], str]]:
    """Every (model, ciphertext column) in the project."""
    for model in apps.get_models():
        if issubclass(model, EncryptedFieldsMixin):
            for column in model.ENCRYPTED_FIELDS:
                yield model, column


def secrets_reencrypt(
    *, now: datetime, batch_size: int = 500, limit: int | None = None, actor_label: str = ""
) -> ReencryptReport:
    """Rewrite each ciphertext not under the primary key; returns counts.

    ``limit`` stops after that many rows were rewritten (the rest is left for the next run).
    Rows that cannot be decrypted are listed in ``failed`` (``model.column:pk: reason``) and
    left untouched.
    """
    ring = cipher.key_ring()
    report = ReencryptReport(primary_key_id=ring.primary_id)
    # The key id sits in each record's header, so rows are told apart here without decrypting;
    # a run reads every row once, in primary-key batches (the counts cover the rows it read).
    for model, column in encrypted_columns():
        manager = model._base_manager
        last_pk = None
        while not report.stopped_early:
            todo = manager.order_by("pk")
            if last_pk is not None:
                todo = todo.filter(pk__gt=last_pk)
            batch = list(todo.values_list("pk", column)[:batch_size])
            if not batch:
                break
            for pk, value in batch:
                stored = bytes(value)
                if not stored:
                    report.empty += 1
                elif stored.startswith(ring.header):
                    report.already_current += 1
                elif limit is not None and report.reencrypted >= limit:
                    report.stopped_early = True
                    break
                else:
                    _reencrypt_one(model, column, pk, stored, ring=ring, report=report)
                last_pk = pk
        if report.stopped_early:
            break
    if report.reencrypted or report.failed:
        audit_append(
            action=AuditAction.ENCRYPTION_KEY_ROTATED,
            now=now,
            actor_label=actor_label,
            details={
                "primary_key_id": report.primary_key_id,
                "reencrypted": report.reencrypted,
                "failed": len(report.failed),
                "complete": report.complete,
            },
        )
    return report


def _reencrypt_one(
    model: type[models.Model],
    column: str,
    pk: object,
    stored: bytes,
    *,
    ring: cipher.KeyRing,
    report: ReencryptReport,
) -> None:
    aad = model(pk=pk).aad(column)  # type: ignore[attr-defined]
    try:
        plaintext = cipher.decrypt(stored, aad=aad, ring=ring)
    except cipher.CryptoError as exc:
        report.failed.append(f"{model._meta.label}.{column}:{pk}: {exc}")
        return
    fresh = cipher.encrypt(plaintext, aad=aad, ring=ring)
    with transaction.atomic():
        updated = model._base_manager.filter(pk=pk, **{column: stored}).update(**{column: fresh})
    # 0 rows: the row changed (rotated, wiped) since it was read; nothing to do for it.
    if updated:
        report.reencrypted += 1
