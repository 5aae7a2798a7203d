"""The migrations that make ciphertext columns binary: version 1 (text) values written before
them decrypt afterwards, and reversing them restores the exact text."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import Channel
from keyvault.crypto.cipher import KeyRing
from keyvault.migrations._sealed_columns import binary_to_text, text_to_binary
from keyvault.models import Credential
from tests.factories import ATLASSIAN_URL, NOW

BEFORE = [
    ("keyvault", "0003_thresholds_validator_audit_base_manager"),
    ("alerts", "0003_reminder_next_attempt_at"),
]
AFTER = [("keyvault", "0004_binary_ciphertext"), ("alerts", "0004_binary_ciphertext")]


def kv1(plaintext: str, aad: str) -> str:
    """A value as version 1 wrote it: ``kv1:<kid>:<base64(nonce || ciphertext || tag)>``."""
    kid, key = KeyRing.parse(settings.KEYVAULT_ENCRYPTION_KEYS).keys[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"kv1:{kid}:{base64.b64encode(nonce + sealed).decode()}"


def migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_version_1(transactional_db) -> Iterator[object]:
    yield migrate(BEFORE)
    executor = MigrationExecutor(connection)  # back to the latest schema for the other tests
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_version_1_values_decrypt_after_the_migration_and_come_back_on_reversal(
    at_version_1,
) -> None:
    apps = at_version_1
    integration = apps.get_model("keyvault", "Integration").objects.create(
        name="Atlassian (acme)", provider="atlassian_scim"
    )
    old_credential = apps.get_model("keyvault", "Credential")
    token = "ATATT3xFfGF0-version-one-token"
    credential = old_credential(
        integration=integration,
        fingerprint="f" * 64,
        hint=token[-4:],
        issued_at=NOW,
        expires_at=NOW + timedelta(days=365),
    )
    credential.token_ciphertext = kv1(
        token, f"keyvault_credential.token_ciphertext.{credential.pk}"
    )
    credential.scim_url_ciphertext = kv1(
        ATLASSIAN_URL, f"keyvault_credential.scim_url_ciphertext.{credential.pk}"
    )
    credential.save()
    empty = old_credential.objects.create(
        integration=apps.get_model("keyvault", "Integration").objects.create(
            name="Destroyed", provider="other"
        ),
        fingerprint="e" * 64,
        hint="0000",
        issued_at=NOW,
        expires_at=NOW + timedelta(days=1),
        token_ciphertext="",
        scim_url_ciphertext="",
    )
    channel = apps.get_model("alerts", "Channel")(kind="slack", name="#it-ops")
    webhook = "https://hooks.slack.com/services/T0/B0/version-one-webhook"
    channel.webhook_ciphertext = kv1(webhook, f"alerts_channel.webhook_ciphertext.{channel.pk}")
    channel.save()
    text_before = (credential.token_ciphertext, credential.scim_url_ciphertext)

    migrate(AFTER)
    # Only the columns this migration knows: later ones add Credential and Channel fields.
    sealed = Credential.objects.only("id", "token_ciphertext", "scim_url_ciphertext")
    migrated = sealed.get(pk=credential.pk)
    assert bytes(migrated.token_ciphertext).startswith(b"kv\x02\x02t2")
    assert migrated.unseal("token_ciphertext") == token
    assert migrated.unseal("scim_url_ciphertext") == ATLASSIAN_URL
    assert bytes(sealed.get(pk=empty.pk).token_ciphertext) == b""
    migrated_channel = Channel.objects.only("id", "webhook_ciphertext").get(pk=channel.pk)
    assert migrated_channel.unseal("webhook_ciphertext") == webhook

    apps = migrate(BEFORE)
    reverted = apps.get_model("keyvault", "Credential").objects.get(pk=credential.pk)
    assert (reverted.token_ciphertext, reverted.scim_url_ciphertext) == text_before
    assert apps.get_model("keyvault", "Credential").objects.get(pk=empty.pk).token_ciphertext == ""


@pytest.mark.parametrize(
    "value", ["plain text", "kv1:t2:not*base64", "kv1:bad id:AAAA", "kv9:t2:AAAA"]
)
def test_a_malformed_version_1_value_stops_the_migration_naming_no_content(value: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        text_to_binary(value)
    assert value.rsplit(":", 1)[-1] not in str(excinfo.value)


def test_repacking_is_lossless_both_ways() -> None:
    stored = kv1("token", "t.f.1")
    assert binary_to_text(text_to_binary(stored)) == stored
    assert text_to_binary("") == b"" and binary_to_text(b"") == ""
