"""Re-encrypt every secret under the first key in KEYVAULT_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from keyvault.crypto.reencrypt import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first key of KEYVAULT_ENCRYPTION_KEYS. "
        "Resumable: interrupt and run again at any time. Remove an old key from the ring only "
        "after a run reports 0 left under other keys."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--limit", type=int, help="Stop after re-encrypting this many rows")

    def handle(self, *args: Any, batch_size: int, limit: int | None, **options: Any) -> None:
        report = secrets_reencrypt(
            now=timezone.now(),
            batch_size=batch_size,
            limit=limit,
            actor_label="manage.py rotate_encryption_key",
        )
        self.stdout.write(
            f"primary key id: {report.primary_key_id}\n"
            f"re-encrypted: {report.reencrypted}\n"
            f"already under primary key: {report.already_current}\n"
            f"empty (nothing stored): {report.empty}\n"
            f"failed: {len(report.failed)}"
        )
        for line in report.failed:
            self.stderr.write(f"  {line}")
        if report.stopped_early:
            self.stdout.write("stopped at --limit; run again to continue")
        if report.failed:
            raise CommandError(f"{len(report.failed)} secret(s) could not be decrypted")
