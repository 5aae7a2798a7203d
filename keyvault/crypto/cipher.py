"""Encryption at rest: AES-256-GCM with a key ring, and keyed fingerprints.

With ``signing``, the only modules that touch ``cryptography``. It works on bytes: the model
layer (``EncryptedFieldsMixin``) encodes text and stores the result in a binary column.

Stored form of a secret (a versioned record carrying its key id)::

    b"kv" | version (1 byte) | key id length (1 byte) | key id (ASCII) | nonce (12) | ciphertext+tag

The current version is 2; version 1 was the text form ``kv1:<key id>:<base64>``, which the
migrations that made the columns binary repack without decrypting. The associated data binds a
ciphertext to its place (``table.field.row id``): copied to another row or field it no longer
decrypts. The key ring comes from ``KEYVAULT_ENCRYPTION_KEYS`` (``kid:base64key,...``); the
first key encrypts, every key decrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from functools import lru_cache
from os import urandom

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

VERSION = 2
MAGIC = b"kv" + bytes([VERSION])
#: Offset of the key id: magic, then the key id's length byte.
KID_AT = len(MAGIC) + 1
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class CryptoError(Exception):
    """A stored secret cannot be decrypted (message names the key id, never the data)."""


class UnknownKeyError(CryptoError):
    """The ciphertext names a key id that is not in the key ring."""


@dataclass(frozen=True)
class KeyRing:
    """Ordered AES-256 keys by id; ``primary`` encrypts, all decrypt."""

    keys: tuple[tuple[str, bytes], ...]
    # Built once, so that a call costs next to the primitive's: one AESGCM per key, found by
    # key id or, in one dictionary lookup, by the whole record header.
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)
    _by_header: dict[bytes, AESGCM] = field(init=False, repr=False, compare=False)
    _primary: AESGCM = field(init=False, repr=False, compare=False)
    #: What every secret written under the primary key starts with.
    header: bytes = field(init=False, repr=False, compare=False)
    _header_len: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ciphers = {kid: AESGCM(key) for kid, key in self.keys}
        primary_id = self.keys[0][0]
        header = record_header(primary_id)
        object.__setattr__(self, "_ciphers", ciphers)
        object.__setattr__(
            self, "_by_header", {record_header(kid): cipher for kid, cipher in ciphers.items()}
        )
        object.__setattr__(self, "_primary", ciphers[primary_id])
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "_header_len", len(header))

    def _cipher_for(self, stored: bytes) -> tuple[AESGCM, int]:
        """The cipher for a stored record and where its nonce starts (any key id length)."""
        kid = key_id_of(stored)
        try:
            return self._ciphers[kid], KID_AT + len(kid)
        except KeyError:
            raise UnknownKeyError(
                f"key id {kid!r} is not in KEYVAULT_ENCRYPTION_KEYS; add it back to read this "
                "secret"
            ) from None

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

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


_ring: KeyRing | None = None


def key_ring() -> KeyRing:
    """The key ring from settings, parsed once (re-parsed when the setting changes)."""
    return _ring or _load_ring()


def _load_ring() -> KeyRing:
    global _ring
    _ring = KeyRing.parse(settings.KEYVAULT_ENCRYPTION_KEYS)
    return _ring


@receiver(setting_changed)
def _forget_ring(*, setting: str, **kwargs: object) -> None:
    global _ring
    if setting == "KEYVAULT_ENCRYPTION_KEYS":
        _ring = None


def record_header(kid: str) -> bytes:
    """The bytes a secret stored under key id ``kid`` starts with."""
    raw = kid.encode("ascii")
    return MAGIC + bytes([len(raw)]) + raw


def encrypt(plaintext: bytes, aad: bytes, ring: KeyRing | None = None) -> bytes:
    """Encrypt ``plaintext`` under the primary key, bound to ``aad``; returns the stored form."""
    ring = ring or _ring or _load_ring()
    nonce = urandom(NONCE_BYTES)
    return ring.header + nonce + ring._primary.encrypt(nonce, plaintext, aad)


def decrypt(stored: bytes, aad: bytes, ring: KeyRing | None = None) -> bytes:
    """Decrypt a stored secret bound to ``aad``.

    Raises ``UnknownKeyError`` when its key id is not in the ring, ``CryptoError`` when it is
    malformed, was altered, moved to another row or field, or was encrypted under a different key
    with the same id.
    """
    ring = ring or _ring or _load_ring()
    # Records under a key id as long as the primary's are found by their header alone; headers
    # are prefix-free (they carry the key id's length), so a match is exact.
    nonce_at = ring._header_len
    cipher = ring._by_header.get(stored[:nonce_at])
    if cipher is None:
        cipher, nonce_at = ring._cipher_for(stored)
    body_at = nonce_at + NONCE_BYTES
    try:
        return cipher.decrypt(stored[nonce_at:body_at], stored[body_at:], aad)
    except (InvalidTag, ValueError):
        kid = key_id_of(stored)
        if len(stored) < body_at + TAG_BYTES:
            raise CryptoError(f"stored secret under key id {kid!r} is truncated") from None
        raise CryptoError(
            f"secret encrypted under key id {kid!r} failed authentication: wrong key for that id,"
            " or the stored value was altered or moved"
        ) from None


def key_id_of(stored: bytes) -> str:
    """The key id a stored secret was written with; raises ``CryptoError`` if malformed."""
    if stored[: KID_AT - 1] != MAGIC or len(stored) < KID_AT:
        raise CryptoError(f"stored secret is not in the version {VERSION} format")
    raw = stored[KID_AT : KID_AT + stored[KID_AT - 1]]
    try:
        kid = raw.decode("ascii")
    except UnicodeDecodeError:
        kid = ""
    if not KEY_ID_RE.match(kid) or len(raw) != stored[KID_AT - 1]:
        raise CryptoError("stored secret has a malformed key id")
    return kid


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
