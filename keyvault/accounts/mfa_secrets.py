"""The second-factor secrets allauth.mfa keeps, sealed with keyvault's key ring.

An ``Authenticator`` holds its TOTP key (``data["secret"]``) or its recovery-code seed
(``data["seed"]``) in a JSON column; allauth stores them as they are, keyvault stores
``kv:`` + base64 of an AES-GCM record (``keyvault.crypto.cipher``). Like every other secret
they move to the primary key when ``rotate_encryption_key`` runs (``mfa_secrets_reencrypt``),
so an old key can leave the ring without breaking anyone's authenticator app.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from keyvault.crypto import cipher

#: Marks an authenticator secret encrypted by keyvault (allauth's own are plain text).
SEALED = "kv:"
AAD = b"allauth.mfa.authenticator"
#: The keys of ``Authenticator.data`` that hold a secret.
SECRET_KEYS = ("secret", "seed")


def seal(text: str, *, ring: cipher.KeyRing | None = None) -> str:
    return SEALED + base64.b64encode(cipher.encrypt(text.encode(), aad=AAD, ring=ring)).decode()


def unseal(text: str, *, ring: cipher.KeyRing | None = None) -> str:
    """The secret of a sealed value; a value keyvault did not seal is returned as it is."""
    if not text.startswith(SEALED):
        return text
    return cipher.decrypt(_record(text), aad=AAD, ring=ring).decode()


def _record(text: str) -> bytes:
    return base64.b64decode(text.removeprefix(SEALED))


@dataclass
class MfaReencryptReport:
    reencrypted: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)


def mfa_secrets_reencrypt(
    *, ring: cipher.KeyRing, now: datetime, actor_label: str = ""
) -> MfaReencryptReport:
    """Re-seal under ``ring``'s primary key every authenticator secret sealed under another.

    One transaction (there are a few authenticators per user): the rows are locked, rewritten
    and the batch audited (``ENCRYPTION_KEY_ROTATED``, ``scope: batch``) together. A value that
    cannot be decrypted is listed in ``failed`` and left as it was.
    """
    from allauth.mfa.models import Authenticator

    from keyvault.crypto.reencrypt import batch_audit  # it calls this module

    report = MfaReencryptReport()
    with transaction.atomic():
        from_keys: set[str] = set()
        for authenticator in Authenticator.objects.select_for_update().order_by("pk"):
            data = dict(authenticator.data)
            changed = False
            for key in SECRET_KEYS:
                value = data.get(key)
                if not isinstance(value, str) or not value.startswith(SEALED):
                    continue
                stored = _record(value)
                if stored.startswith(ring.header):
                    report.already_current += 1
                    continue
                try:
                    data[key] = seal(unseal(value, ring=ring), ring=ring)
                except cipher.CryptoError as exc:
                    report.failed.append(f"mfa.Authenticator.data[{key}]:{authenticator.pk}: {exc}")
                    continue
                from_keys.add(cipher.key_id_of(stored))
                report.reencrypted += 1
                changed = True
            if changed:
                authenticator.data = data
                authenticator.save(update_fields=["data"])
        if report.reencrypted:
            batch_audit(
                column="mfa.Authenticator.data",
                primary_key_id=ring.primary_id,
                from_key_ids=from_keys,
                reencrypted=report.reencrypted,
                now=now,
                actor_label=actor_label,
            )
    return report
