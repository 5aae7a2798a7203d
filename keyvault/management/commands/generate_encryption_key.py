"""Print a new key ring entry for KEYVAULT_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from keyvault import devkeys
from keyvault.crypto.cipher import KEY_ID_RE


class Command(BaseCommand):
    help = (
        "Print a new 'kid:base64key' entry. Put it first in KEYVAULT_ENCRYPTION_KEYS, restart, "
        "then run rotate_encryption_key. With --fingerprint, print a KEYVAULT_FINGERPRINT_KEY."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kid", help="Key id (letters, digits, - or _); random if omitted")
        parser.add_argument("--fingerprint", action="store_true")

    def handle(self, *args: Any, kid: str | None, fingerprint: bool, **options: Any) -> None:
        if fingerprint:
            self.stdout.write(devkeys.new_key_b64())
            return
        if kid is not None and not KEY_ID_RE.match(kid):
            raise CommandError("--kid must be 1-32 letters, digits, '-' or '_'")
        self.stdout.write(devkeys.new_encryption_ring_entry(kid))
