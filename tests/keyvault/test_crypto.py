from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from keyvault import crypto
from keyvault.models import Credential

RING_A = "a:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
RING_B = "b:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def test_round_trip() -> None:
    stored = crypto.encrypt("s3cr3t-token", aad="t.f.1")
    assert stored.startswith("kv1:t2:")
    assert "s3cr3t" not in stored
    assert crypto.decrypt(stored, aad="t.f.1") == "s3cr3t-token"


def test_each_encryption_uses_a_fresh_nonce() -> None:
    assert crypto.encrypt("x", aad="a") != crypto.encrypt("x", aad="a")


def test_ciphertext_moved_to_another_row_or_field_fails() -> None:
    stored = crypto.encrypt("token", aad="keyvault_credential.token_ciphertext.1")
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(stored, aad="keyvault_credential.token_ciphertext.2")
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(stored, aad="keyvault_credential.scim_url_ciphertext.1")


def test_tampered_ciphertext_fails_naming_the_key_id() -> None:
    stored = crypto.encrypt("token", aad="a")
    body = stored.rsplit(":", 1)[1]
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    with pytest.raises(crypto.CryptoError, match="'t2'"):
        crypto.decrypt(stored.rsplit(":", 1)[0] + ":" + flipped, aad="a")


def test_unknown_key_id_is_a_clear_error() -> None:
    stored = crypto.encrypt("token", aad="a", ring=crypto.KeyRing.parse(RING_A))
    with pytest.raises(crypto.UnknownKeyError, match="'a'"):
        crypto.decrypt(stored, aad="a")


def test_same_key_id_with_another_key_fails_instead_of_returning_garbage() -> None:
    stored = crypto.encrypt("token", aad="a", ring=crypto.KeyRing.parse(RING_A))
    impostor = crypto.KeyRing.parse("a:" + RING_B.split(":")[1])
    with pytest.raises(crypto.CryptoError, match="'a'"):
        crypto.decrypt(stored, aad="a", ring=impostor)


def test_every_key_in_the_ring_decrypts_and_the_first_encrypts() -> None:
    old = crypto.encrypt("token", aad="a", ring=crypto.KeyRing.parse(RING_A))
    ring = crypto.KeyRing.parse(f"{RING_B},{RING_A}")
    assert crypto.decrypt(old, aad="a", ring=ring) == "token"
    assert crypto.key_id_of(crypto.encrypt("token", aad="a", ring=ring)) == "b"


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "a:notbase64!!", "a:QUFB", f"{RING_A},{RING_A}", "bad id:" + RING_A[2:]],
)
def test_bad_key_ring_is_improperly_configured(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        crypto.KeyRing.parse(spec)


def test_fingerprint_is_keyed_and_stable_across_encryption_keys() -> None:
    before = crypto.fingerprint("token")
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=RING_A):
        assert crypto.fingerprint("token") == before
    with override_settings(KEYVAULT_FINGERPRINT_KEY=RING_B.split(":")[1]):
        assert crypto.fingerprint("token") != before


def test_credential_ciphertext_is_bound_to_its_row(make_credential) -> None:
    first, token = make_credential()
    second, _ = make_credential()
    assert first.unseal("token_ciphertext") == token
    second.token_ciphertext = first.token_ciphertext
    with pytest.raises(crypto.CryptoError):
        second.unseal("token_ciphertext")
    assert Credential.objects.get(pk=first.pk).unseal("scim_url_ciphertext").startswith("https://")
