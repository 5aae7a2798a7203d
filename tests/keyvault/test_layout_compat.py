"""The layout of the code may change; what is stored may not. Ciphertexts bind themselves to
``table.field.row`` and were written before the vault was split into rooms: they must still
decrypt, and the tables must keep their names."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps

from keyvault.models import Credential, EncryptedFieldsMixin
from tests.factories import ATLASSIAN_URL, MakeCredential

#: Written by keyvault before the layout change (flat ``keyvault/crypto.py``) under the test
#: ring's key "t2", for the row below.
ROW = uuid.UUID("7d1f0c9e-2b4a-4c6d-8e0f-1a2b3c4d5e6f")
TOKEN = "ATATT3xPreMoveToken0123456789"
TOKEN_CIPHERTEXT = bytes.fromhex(
    "6b7602027432c8d3b9804f0649c21adf515ac0f65c39505ac7d187e14c99ad73f20710930bd0aebcdd3775e2"
    "345381da7e8b6ab0846096326b21b19cb6e5e8"
)
URL_CIPHERTEXT = bytes.fromhex(
    "6b7602027432f39fc8516c980d849b062eda617a56f14e44d62aa6af84a6ad7e5d6d0b33e2ae3593d2f6175c"
    "287ecc1712989abd1c06ed3451d8089a4e33063121548beb7f2cabff55156414f93b181260340bb3e06ecf00"
    "dd1809b6c2638b9353b53f46c8e973765b96f1f990de23"
)


def test_encrypted_tables_keep_their_names() -> None:
    tables = {
        model._meta.label: model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, EncryptedFieldsMixin)
    }
    assert tables == {
        "keyvault.Credential": "keyvault_credential",
        "alerts.Channel": "alerts_channel",
    }


@pytest.mark.django_db
def test_a_secret_stored_before_the_layout_change_still_decrypts(
    make_credential: MakeCredential,
) -> None:
    credential, _ = make_credential()
    # Give a row the id the old ciphertexts are bound to, holding them, through the ORM.
    Credential.objects.filter(pk=credential.pk).update(
        id=ROW, token_ciphertext=TOKEN_CIPHERTEXT, scim_url_ciphertext=URL_CIPHERTEXT
    )

    stored = Credential.objects.get(pk=ROW)

    assert stored.unseal("token_ciphertext") == TOKEN
    assert stored.unseal("scim_url_ciphertext") == ATLASSIAN_URL
