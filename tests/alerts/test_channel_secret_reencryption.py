"""A webhook channel's signing secret is one of the secrets ``rotate_encryption_key`` moves."""

from __future__ import annotations

import base64
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import override_settings

from alerts.models import Channel
from keyvault.crypto import cipher
from keyvault.crypto.reencrypt import encrypted_columns
from tests.factories import webhook_channel_make

OLD_RING = "t2:dGVzdC1rZXktdHdvLXRlc3Qta2V5LXR3by10ZXN0LWs="
NEW_KEY = "n3:" + base64.b64encode(b"n" * 32).decode()


def test_signing_secret_column_is_listed_for_re_encryption() -> None:
    assert (Channel, "signing_secret_ciphertext") in set(encrypted_columns())


def test_key_rotation_re_encrypts_the_signing_secret_and_the_webhook_url(db: Any) -> None:
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=OLD_RING):
        channel, secret = webhook_channel_make(url="https://siem.example.com/in/abc")

    with override_settings(KEYVAULT_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_RING}"):
        call_command("rotate_encryption_key", stdout=StringIO())
    channel.refresh_from_db()

    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_KEY):
        assert cipher.key_id_of(bytes(channel.signing_secret_ciphertext)) == "n3"
        assert channel.unseal("signing_secret_ciphertext") == secret
        assert channel.unseal("webhook_ciphertext") == "https://siem.example.com/in/abc"
