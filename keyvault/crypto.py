"""Encryption at rest: AES-256-GCM with a key ring, and keyed fingerprints.

This is the only module that touches ``cryptography``.

Stored form of a secret (a versioned ASCII string)::

    kv1:<key id>:<base64(nonce || ciphertext || tag)>

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
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

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
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)
    _primary: AESGCM = field(init=False, repr=False, compare=False)
    _prefix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One AESGCM object per key, built once: the per-call cost stays next to the primitive's.
        object.__setattr__(self, "_ciphers", {kid: AESGCM(key) for kid, key in self.keys})
        object.__setattr__(self, "_primary", self._ciphers[self.keys[0][0]])
        object.__setattr__(self, "_prefix", f"{VERSION}:{self.keys[0][0]}:")

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

    def cipher(self, kid: str) -> AESGCM:
        try:
            return self._ciphers[kid]
        except KeyError:
            raise UnknownKeyError(
                f"key id {kid!r} is not in KEYVAULT_ENCRYPTION_KEYS; add it back to read this "
                "secret"
            ) from None

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


_ring_cache: tuple[str, KeyRing] | None = None


def key_ring() -> KeyRing:
    """The key ring from settings, parsed once (re-parsed when the setting changes)."""
    cached = _ring_cache
    if cached is not None:
        return cached[1]
    return _load_ring()


def _load_ring() -> KeyRing:
    global _ring_cache
    spec = settings.KEYVAULT_ENCRYPTION_KEYS
    ring = KeyRing.parse(spec)
    _ring_cache = (spec, ring)
    return ring


@receiver(setting_changed)
def _forget_ring(*, setting: str, **kwargs: object) -> None:
    global _ring_cache
    if setting == "KEYVAULT_ENCRYPTION_KEYS":
        _ring_cache = None


def encrypt(plaintext: str, *, aad: str, ring: KeyRing | None = None) -> str:
    """Encrypt ``plaintext`` under the primary key, bound to ``aad``; returns the stored form."""
    ring = ring or (_ring_cache[1] if _ring_cache is not None else _load_ring())
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + ring._primary.encrypt(nonce, plaintext.encode(), aad.encode())
    return ring._prefix + binascii.b2a_base64(sealed, newline=False).decode("ascii")


def key_id_of(stored: str) -> str:
    """The key id a stored ciphertext was written with; raises ``CryptoError`` if malformed."""
    return _split(stored)[0]


def decrypt(stored: str, *, aad: str, ring: KeyRing | None = None) -> str:
    """Decrypt a stored ciphertext bound to ``aad``.

    Raises ``UnknownKeyError`` when its key id is not in the ring, ``CryptoError`` when it is
    malformed, was altered, moved to another row or field, or was encrypted under a different key
    with the same id.
    """
    ring = ring or (_ring_cache[1] if _ring_cache is not None else _load_ring())
    kid, blob = _split(stored)
    try:
        plain = ring.cipher(kid).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
    except InvalidTag:
        raise CryptoError(
            f"secret encrypted under key id {kid!r} failed authentication: wrong key for that id,"
            " or the stored value was altered or moved"
        ) from None
    return plain.decode()


def _split(stored: str) -> tuple[str, bytes]:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise CryptoError("stored secret is not in the kv1 format")
    kid, body = parts[1], parts[2]
    try:
        blob = binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
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
