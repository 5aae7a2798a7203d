"""Walk the audit hash chain, and with ``--checkpoints`` prove it holds every signed head;
exit non-zero naming the first tampered row or checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from keyvault.audit.chain import ChainReport, audit_verify
from keyvault.audit.checkpoint_verify import CheckpointReport, audit_verify_checkpoints
from keyvault.crypto.signing import SigningKeyError, VerifyKey

#: Exit status when the checkpoints themselves cannot be trusted (wrong key, forged line).
REFUSED = 2


def _chain_failure(report: ChainReport) -> str:
    assert report.problem is not None
    return (
        f"audit log FAILED verification at row #{report.problem.seq}: "
        f"{report.problem.message} ({report.checked} rows before it are intact)"
    )


def _public_key(text: str) -> VerifyKey:
    """The key itself, or the path of a file holding it."""
    path = Path(text)
    try:
        return VerifyKey.parse(path.read_text() if path.is_file() else text)
    except SigningKeyError as exc:
        raise CommandError(f"--public-key: {exc}", returncode=REFUSED) from None


class Command(BaseCommand):
    help = (
        "Check that no audit row was edited, deleted, inserted or reordered. With --checkpoints "
        "FILE --public-key KEY, also check every signed checkpoint in FILE with the public key "
        "and that the log still holds each one's head. Exit status: 0 intact, 1 tampered, "
        "2 checkpoints refused (wrong public key, forged or unreadable file)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--checkpoints", type=Path, help="the signed checkpoint file")
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            help="auditors' public key (base64, or a file holding it); repeat after a key change",
        )

    def handle(self, *args: Any, checkpoints: Path | None, public_key: list[str], **o: Any) -> None:
        if checkpoints is None and not public_key:
            report = audit_verify()
            if report.problem is not None:
                raise CommandError(_chain_failure(report))
            self.stdout.write(f"audit log OK: {report.checked} rows checked, chain intact")
            return
        if checkpoints is None or not public_key:
            raise CommandError("--checkpoints and --public-key go together", returncode=REFUSED)
        keys = [_public_key(text) for text in public_key]
        self._report(audit_verify_checkpoints(path=checkpoints, public_keys=keys))

    def _report(self, report: CheckpointReport) -> None:
        if report.refused is not None:
            raise CommandError(f"checkpoints REFUSED: {report.refused}", returncode=REFUSED)
        assert report.chain is not None
        failures = [f"audit log FAILED verification: {report.mismatch}"] if report.mismatch else []
        if not report.chain.ok:
            failures.append(_chain_failure(report.chain))
        if failures:
            raise CommandError("\n".join(failures))
        latest = report.latest
        assert latest is not None
        after = report.chain.checked - latest.seq
        self.stdout.write(
            f"audit log OK: {report.chain.checked} rows checked, chain intact; "
            f"{len(report.checkpoints)} signed checkpoints match, the latest at row "
            f"#{latest.seq} signed {latest.time}; {after} rows after it are protected by the "
            "chain only"
        )
