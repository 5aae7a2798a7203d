"""Encryption at rest: AES-256-GCM with a key ring, and keyed fingerprints.

This is the only module that touches ``cryptography``.

Stored form of a secret (a versioned ASCII string)::

    kv1:<key id>:<base64url(nonce || ciphertext || tag)>

The associated data binds a ciphertext to its place (``table.field.row id``): copied to another
row or field it no longer decrypts. The key ring comes from ``KEYVAULT_ENCRYPTION_KEYS``
(``kid:base64key,...``); the first key encrypts, every key decrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "kv1"
NONCE_BYTES = 12
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class CryptoError(Exception):
    """A stored secret cannot be decrypted (message names the key id, never the data)."""


class UnknownKeyError(CryptoError):
    """The ciphertext names a key id that is not in the key ring."""


@dataclass(frozen=True)
class KeyRing:
    """Ordered AES-256 keys by id; ``primary`` encrypts, all decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

    def key(self, kid: str) -> bytes:
        for key_id, key in self.keys:
            if key_id == kid:
                return key
        raise UnknownKeyError(
            f"key id {kid!r} is not in KEYVAULT_ENCRYPTION_KEYS; add it back to read this secret"
        )

    @classmethod
    def parse(cls, spec: str, *, name: str = "KEYVAULT_ENCRYPTION_KEYS") -> KeyRing:
        """Parse ``kid:base64key,...``; raises ``ImproperlyConfigured`` on any defect."""
        keys: list[tuple[str, bytes]] = []
        for raw in spec.split(","):
            entry = raw.strip()
            if not entry:
                continue
            kid, sep, b64 = entry.partition(":")
            if not sep or not KEY_ID_RE.match(kid):
                raise ImproperlyConfigured(
                    f"{name}: each entry must be kid:base64key with a key id of letters, digits,"
                    " '-' or '_'"
                )
            key = _b64decode_key(b64.strip(), name=name, kid=kid)
            if any(kid == k for k, _ in keys):
                raise ImproperlyConfigured(f"{name}: key id {kid!r} appears twice")
            keys.append((kid, key))
        if not keys:
            raise ImproperlyConfigured(f"{name} holds no key")
        return cls(tuple(keys))


def _b64decode_key(b64: str, *, name: str, kid: str) -> bytes:
    try:
        key = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.urlsafe_b64decode(b64)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name}: key {kid!r} is not valid base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name}: key {kid!r} must be 32 bytes (AES-256), not {len(key)}"
        )
    return key


@lru_cache(maxsize=8)
def _ring_for(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def key_ring() -> KeyRing:
    """The key ring from settings (parsed once per distinct value)."""
    return _ring_for(settings.KEYVAULT_ENCRYPTION_KEYS)


@lru_cache(maxsize=8)
def _aesgcm(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(plaintext: str, *, aad: str, ring: KeyRing | None = None) -> str:
    """Encrypt ``plaintext`` under the primary key, bound to ``aad``; returns the stored form."""
    ring = ring or key_ring()
    kid = ring.primary_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aesgcm(ring.key(kid)).encrypt(nonce, plaintext.encode("utf-8"), aad.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{VERSION}:{kid}:{body}"


def key_id_of(stored: str) -> str:
    """The key id a stored ciphertext was written with; raises ``CryptoError`` if malformed."""
    return _split(stored)[0]


def decrypt(stored: str, *, aad: str, ring: KeyRing | None = None) -> str:
    """Decrypt a stored ciphertext bound to ``aad``.

    Raises ``UnknownKeyError`` when its key id is not in the ring, ``CryptoError`` when it was
    altered, moved to another row or field, or encrypted under a different key with the same id.
    """
    ring = ring or key_ring()
    kid, blob = _split(stored)
    key = ring.key(kid)
    try:
        plain = _aesgcm(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
    except InvalidTag:
        raise CryptoError(
            f"secret encrypted under key id {kid!r} failed authentication: wrong key for that id,"
            " or the stored value was altered or moved"
        ) from None
    return plain.decode("utf-8")


def _split(stored: str) -> tuple[str, bytes]:
    version, _, rest = stored.partition(":")
    kid, _, body = rest.partition(":")
    if version != VERSION or not KEY_ID_RE.match(kid) or not body:
        raise CryptoError("stored secret is not in the kv1 format")
    try:
        blob = base64.urlsafe_b64decode(body.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CryptoError(f"stored secret under key id {kid!r} is not valid base64") from None
    if len(blob) < NONCE_BYTES + 16:
        raise CryptoError(f"stored secret under key id {kid!r} is truncated")
    return kid, blob


@lru_cache(maxsize=4)
def _fingerprint_key(spec: str) -> bytes:
    return _b64decode_key(spec.strip(), name="KEYVAULT_FINGERPRINT_KEY", kid="fingerprint")


def fingerprint(value: str) -> str:
    """Keyed fingerprint (HMAC-SHA256, hex) of a secret.

    Independent of the encryption key ring, so it stays stable when encryption keys rotate. It
    identifies a token (and detects the same token pasted twice) without revealing it.
    """
    key = _fingerprint_key(settings.KEYVAULT_FINGERPRINT_KEY)
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
