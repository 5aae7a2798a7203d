"""Walk the audit hash chain; exit non-zero naming the first tampered row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from keyvault.audit.chain import audit_verify


class Command(BaseCommand):
    help = (
        "Check that no audit row was edited, deleted, inserted or reordered. Prints the number "
        "of rows checked when the chain holds; names the first bad row and exits with status 1 "
        "when it does not."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if report.problem is not None:
            raise CommandError(
                f"audit log FAILED verification at row #{report.problem.seq}: "
                f"{report.problem.message} ({report.checked} rows before it are intact)"
            )
        self.stdout.write(f"audit log OK: {report.checked} rows checked, chain intact")
