"""Print a new Ed25519 key pair for signing audit checkpoints."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from keyvault.crypto import signing


class Command(BaseCommand):
    help = (
        "Print a new audit signing key pair: the private key for KEYVAULT_AUDIT_SIGNING_KEY "
        "(a secret: web, worker and beat only) and the public key for auditors "
        "(verify_audit_log --public-key). With --public, print the public key of the "
        "configured KEYVAULT_AUDIT_SIGNING_KEY instead."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--public", action="store_true", help="print the configured key's public key only"
        )

    def handle(self, *args: Any, public: bool, **options: Any) -> None:
        if public:
            key = signing.signing_key(settings.KEYVAULT_AUDIT_SIGNING_KEY).public
            self.stdout.write(f"public key: {key.text}\nkey id: {key.key_id}")
            return
        private, public_text = signing.new_signing_key_pair()
        key_id = signing.VerifyKey.parse(public_text).key_id
        self.stdout.write(
            f"KEYVAULT_AUDIT_SIGNING_KEY={private}\n"
            f"public key: {public_text}\n"
            f"key id: {key_id}\n"
            "Keep the private key secret (environment of web, worker and beat; never in the "
            "database). Give the public key to auditors."
        )
