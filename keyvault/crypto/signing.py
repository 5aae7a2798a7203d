"""Ed25519 signatures for the audit log's checkpoints.

Keys travel as base64 of their 32 raw bytes: the private key (the seed, any 32 random bytes) in
``KEYVAULT_AUDIT_SIGNING_KEY``, the public key in the hands of auditors. A key's id is the first
16 hex digits of SHA-256 over its raw public key, so a signature names the key that made it
without carrying the key itself. Verification needs the public key only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
SIGNING_KEY_SETTING = "KEYVAULT_AUDIT_SIGNING_KEY"


class SigningKeyError(ValueError):
    """A key given as text is not base64 of 32 bytes (the message never holds the key)."""


def _raw_key(text: str, *, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise SigningKeyError(f"{what} must be {KEY_BYTES} bytes (Ed25519), not {len(raw)}")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key: verifies signatures, never makes them."""

    key: Ed25519PublicKey
    #: Base64 of the raw public key, as ``generate_audit_signing_key`` prints it.
    text: str
    #: First 16 hex digits of SHA-256 over the raw public key.
    key_id: str

    @classmethod
    def parse(cls, text: str) -> VerifyKey:
        """Parse base64 of a raw 32-byte public key; raises ``SigningKeyError``."""
        raw = _raw_key(text, what="the public key")
        return cls._from_raw(raw)

    @classmethod
    def _from_raw(cls, raw: bytes) -> VerifyKey:
        return cls(
            Ed25519PublicKey.from_public_bytes(raw), _b64(raw), hashlib.sha256(raw).hexdigest()[:16]
        )

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` was made over ``message`` by this key's private half."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and its public half."""

    key: Ed25519PrivateKey
    public: VerifyKey

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        """Parse base64 of a 32-byte private key; raises ``SigningKeyError``."""
        key = Ed25519PrivateKey.from_private_bytes(_raw_key(text, what=SIGNING_KEY_SETTING))
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(key, VerifyKey._from_raw(public))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self.key.sign(message)


def new_signing_key_pair() -> tuple[str, str]:
    """A fresh key pair as ``(private, public)``, each base64 of its 32 raw bytes."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _b64(private), SigningKey.parse(_b64(private)).public.text


@lru_cache(maxsize=4)
def signing_key(text: str) -> SigningKey:
    """The signing key configured as ``text`` (parsed once per value).

    Raises ``ImproperlyConfigured`` naming the setting when it is malformed (never its value).
    """
    try:
        return SigningKey.parse(text)
    except SigningKeyError as exc:
        raise ImproperlyConfigured(str(exc)) from None
