from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from keyvault.crypto import cipher
from keyvault.models import Credential

RING_A = "a:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
RING_B = "b:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def test_round_trip_and_stored_form() -> None:
    stored = cipher.encrypt(b"s3cr3t-token", aad=b"t.f.1")
    # b"kv" | version 2 | key id length | key id | 12-byte nonce | ciphertext | 16-byte tag
    assert stored.startswith(b"kv\x02\x02t2")
    assert len(stored) == 6 + 12 + len(b"s3cr3t-token") + 16
    assert b"s3cr3t" not in stored
    assert cipher.decrypt(stored, aad=b"t.f.1") == b"s3cr3t-token"
    assert cipher.key_id_of(stored) == "t2"


def test_each_encryption_uses_a_fresh_nonce() -> None:
    first, second = (cipher.encrypt(b"x", aad=b"a") for _ in range(2))
    assert first[6:18] != second[6:18]
    assert first != second


def test_ciphertext_moved_to_another_row_or_field_fails() -> None:
    stored = cipher.encrypt(b"token", aad=b"keyvault_credential.token_ciphertext.1")
    with pytest.raises(cipher.CryptoError):
        cipher.decrypt(stored, aad=b"keyvault_credential.token_ciphertext.2")
    with pytest.raises(cipher.CryptoError):
        cipher.decrypt(stored, aad=b"keyvault_credential.scim_url_ciphertext.1")


@pytest.mark.parametrize("position", [6, 18, -1])  # nonce, ciphertext, tag
def test_tampered_ciphertext_fails_naming_the_key_id(position: int) -> None:
    stored = bytearray(cipher.encrypt(b"token", aad=b"a"))
    stored[position] ^= 0x01
    with pytest.raises(cipher.CryptoError, match=r"'t2'.*failed authentication"):
        cipher.decrypt(bytes(stored), aad=b"a")


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (b"", "not in the version 2 format"),
        (b"kv1:t2:AAAA", "not in the version 2 format"),
        (b"kv\x02", "not in the version 2 format"),
        (b"kv\x02\x05t2", "malformed key id"),
        (b"kv\x02\x02t\xff" + bytes(40), "malformed key id"),
        (b"kv\x02\x02t2" + bytes(20), "'t2' is truncated"),
    ],
)
def test_malformed_stored_values_are_clear_errors(stored: bytes, message: str) -> None:
    with pytest.raises(cipher.CryptoError, match=message):
        cipher.decrypt(stored, aad=b"a")


def test_unknown_key_id_is_a_clear_error() -> None:
    stored = cipher.encrypt(b"token", aad=b"a", ring=cipher.KeyRing.parse(RING_A))
    with pytest.raises(cipher.UnknownKeyError, match="'a'"):
        cipher.decrypt(stored, aad=b"a")


def test_same_key_id_with_another_key_fails_instead_of_returning_garbage() -> None:
    stored = cipher.encrypt(b"token", aad=b"a", ring=cipher.KeyRing.parse(RING_A))
    impostor = cipher.KeyRing.parse("a:" + RING_B.split(":")[1])
    with pytest.raises(cipher.CryptoError, match="'a'"):
        cipher.decrypt(stored, aad=b"a", ring=impostor)


def test_every_key_in_the_ring_decrypts_and_the_first_encrypts() -> None:
    old = cipher.encrypt(b"token", aad=b"a", ring=cipher.KeyRing.parse(RING_A))
    ring = cipher.KeyRing.parse(f"{RING_B},{RING_A}")
    assert cipher.decrypt(old, aad=b"a", ring=ring) == b"token"
    assert cipher.key_id_of(cipher.encrypt(b"token", aad=b"a", ring=ring)) == "b"
    assert ring.header == b"kv\x02\x01b"


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "a:notbase64!!", "a:QUFB", f"{RING_A},{RING_A}", "bad id:" + RING_A[2:]],
)
def test_bad_key_ring_is_improperly_configured(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        cipher.KeyRing.parse(spec)


def test_fingerprint_is_keyed_and_stable_across_encryption_keys() -> None:
    before = cipher.fingerprint("token")
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=RING_A):
        assert cipher.fingerprint("token") == before
    with override_settings(KEYVAULT_FINGERPRINT_KEY=RING_B.split(":")[1]):
        assert cipher.fingerprint("token") != before


def test_credential_ciphertext_is_bound_to_its_row(make_credential) -> None:
    first, token = make_credential()
    second, _ = make_credential()
    assert first.unseal("token_ciphertext") == token
    second.token_ciphertext = first.token_ciphertext
    with pytest.raises(cipher.CryptoError):
        second.unseal("token_ciphertext")
    assert Credential.objects.get(pk=first.pk).unseal("scim_url_ciphertext").startswith("https://")
