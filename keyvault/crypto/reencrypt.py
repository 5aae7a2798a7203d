"""Re-encrypt every stored secret under the first key of the ring (the second factors'
secrets too, ``keyvault.accounts.mfa_secrets``).

Safe to interrupt and to run again: rows are rewritten in batches, each row with a conditional
UPDATE (only if it still holds the ciphertext that was read) and each batch committed together
with its audit event; old keys stay in the ring until a run reports nothing left, so every row
decrypts at every moment and the audit log always says what was re-encrypted.
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

    Each batch's rewrites commit in one transaction together with an ``ENCRYPTION_KEY_ROTATED``
    event (``scope: batch``: the column, counts and the key ids it moved away from), so a run
    killed at any moment leaves an audit log that says exactly what was re-encrypted. A run
    that rewrote or failed anything ends with one ``scope: run`` event holding the totals.
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
            rewrites: list[_Rewrite] = []
            for pk, value in batch:
                stored = bytes(value)
                if not stored:
                    report.empty += 1
                elif stored.startswith(ring.header):
                    report.already_current += 1
                elif limit is not None and report.reencrypted + len(rewrites) >= limit:
                    report.stopped_early = True
                    break
                else:
                    rewrite = _prepare(model, column, pk, stored, ring=ring, report=report)
                    if rewrite is not None:
                        rewrites.append(rewrite)
                last_pk = pk
            _commit_batch(model, column, rewrites, report=report, now=now, actor_label=actor_label)
        if report.stopped_early:
            break
    under_limit = limit is None or report.reencrypted < limit
    if not report.stopped_early and under_limit and apps.is_installed("allauth.mfa"):
        _second_factors_reencrypt(ring=ring, report=report, now=now, actor_label=actor_label)
    if report.reencrypted or report.failed:
        audit_append(
            action=AuditAction.ENCRYPTION_KEY_ROTATED,
            now=now,
            actor_label=actor_label,
            details={
                "scope": "run",
                "primary_key_id": report.primary_key_id,
                "reencrypted": report.reencrypted,
                "failed": len(report.failed),
                "complete": report.complete,
            },
        )
    return report


def _second_factors_reencrypt(
    *, ring: cipher.KeyRing, report: ReencryptReport, now: datetime, actor_label: str
) -> None:
    """The TOTP keys and recovery-code seeds, sealed inside allauth.mfa's JSON column."""
    from keyvault.accounts.mfa_secrets import mfa_secrets_reencrypt

    mfa = mfa_secrets_reencrypt(ring=ring, now=now, actor_label=actor_label)
    report.reencrypted += mfa.reencrypted
    report.already_current += mfa.already_current
    report.failed.extend(mfa.failed)


@dataclass(frozen=True)
class _Rewrite:
    pk: object
    stored: bytes
    fresh: bytes

    def __repr__(self) -> str:  # ciphertext only, but no reason to print it
        return f"_Rewrite(pk={self.pk!r})"


def _prepare(
    model: type[models.Model],
    column: str,
    pk: object,
    stored: bytes,
    *,
    ring: cipher.KeyRing,
    report: ReencryptReport,
) -> _Rewrite | None:
    """Decrypt and re-encrypt one value in memory; None (and a ``failed`` line) when it cannot
    be decrypted."""
    aad = model(pk=pk).aad(column)  # type: ignore[attr-defined]
    try:
        plaintext = cipher.decrypt(stored, aad=aad, ring=ring)
    except cipher.CryptoError as exc:
        report.failed.append(f"{model._meta.label}.{column}:{pk}: {exc}")
        return None
    return _Rewrite(pk=pk, stored=stored, fresh=cipher.encrypt(plaintext, aad=aad, ring=ring))


def _commit_batch(
    model: type[models.Model],
    column: str,
    rewrites: list[_Rewrite],
    *,
    report: ReencryptReport,
    now: datetime,
    actor_label: str,
) -> None:
    """Write a batch's new ciphertexts and its audit event in one transaction."""
    if not rewrites:
        return
    with transaction.atomic():
        done = 0
        from_keys: set[str] = set()
        for rewrite in rewrites:
            # Only if the row still holds what was read: 0 rows means it was rotated or wiped
            # meanwhile, and there is nothing left to do for it.
            done += model._base_manager.filter(pk=rewrite.pk, **{column: rewrite.stored}).update(
                **{column: rewrite.fresh}
            )
            from_keys.add(cipher.key_id_of(rewrite.stored))
        if done:
            batch_audit(
                column=f"{model._meta.label}.{column}",
                primary_key_id=report.primary_key_id,
                from_key_ids=from_keys,
                reencrypted=done,
                now=now,
                actor_label=actor_label,
            )
    report.reencrypted += done


def batch_audit(
    *,
    column: str,
    primary_key_id: str,
    from_key_ids: set[str],
    reencrypted: int,
    now: datetime,
    actor_label: str,
) -> None:
    """The ``ENCRYPTION_KEY_ROTATED`` event (``scope: batch``) of one committed batch; called
    inside the batch's transaction."""
    audit_append(
        action=AuditAction.ENCRYPTION_KEY_ROTATED,
        now=now,
        actor_label=actor_label,
        details={
            "scope": "batch",
            "column": column,
            "primary_key_id": primary_key_id,
            "from_key_ids": sorted(from_key_ids),
            "reencrypted": reencrypted,
        },
    )
