"""Encryption-key rotation: re-encrypt under the first key, resumable, every row readable."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from keyvault.crypto import cipher
from keyvault.models import AuditAction, AuditEvent, Credential
from tests.alerts.outbox_helpers import database_url_for_subprocess

ROOT = Path(__file__).resolve().parents[2]

OLD_RING = "t2:dGVzdC1rZXktdHdvLXRlc3Qta2V5LXR3by10ZXN0LWs="
NEW_KEY = "n3:" + base64.b64encode(b"n" * 32).decode()
NEW_RING = f"{NEW_KEY},{OLD_RING}"


def key_ids() -> list[str]:
    ids = []
    for credential in Credential.objects.order_by("pk"):
        ids.append(cipher.key_id_of(credential.token_ciphertext))
        ids.append(cipher.key_id_of(credential.scim_url_ciphertext))
    return ids


def plaintexts() -> dict[str, tuple[str, str]]:
    return {
        str(c.pk): (c.unseal("token_ciphertext"), c.unseal("scim_url_ciphertext"))
        for c in Credential.objects.all()
    }


@pytest.fixture
def five_credentials(make_credential):
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=OLD_RING):
        tokens = [make_credential()[1] for _ in range(5)]
    return tokens


def test_rotation_re_encrypts_every_secret_under_the_first_key(five_credentials) -> None:
    before = plaintexts()
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "re-encrypted: 10" in out.getvalue()
        assert set(key_ids()) == {"n3"}
        assert plaintexts() == before
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_KEY):
        # The old key can now leave the ring.
        assert plaintexts() == before
    events = list(
        AuditEvent.objects.filter(action=AuditAction.ENCRYPTION_KEY_ROTATED).order_by("seq")
    )
    run = [e.details for e in events if e.details["scope"] == "run"]
    batches = [e.details for e in events if e.details["scope"] == "batch"]
    assert len(run) == 1 and run[0]["reencrypted"] == 10 and run[0]["complete"] is True
    assert events[-1].details["scope"] == "run"
    assert sum(b["reencrypted"] for b in batches) == 10
    assert {b["column"] for b in batches} == {
        "keyvault.Credential.token_ciphertext",
        "keyvault.Credential.scim_url_ciphertext",
    }
    assert all(b["from_key_ids"] == ["t2"] and b["primary_key_id"] == "n3" for b in batches)


def test_rotation_moves_the_second_factors_secrets_to_the_first_key_too(admin_user) -> None:
    """An authenticator app's key and the recovery-code seed are secrets like the rest: once
    the old key has left the ring, the same codes still work."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    secret = pyotp.random_base32()
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=OLD_RING):
        TOTP.activate(admin_user, secret)
        codes = RecoveryCodes.activate(admin_user).get_unused_codes()
    sealed = [a.data.get("secret") or a.data["seed"] for a in Authenticator.objects.all()]
    assert {cipher.key_id_of(base64.b64decode(v.removeprefix("kv:"))) for v in sealed} == {"t2"}

    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "re-encrypted: 2" in out.getvalue()
        (batch,) = AuditEvent.objects.filter(
            action=AuditAction.ENCRYPTION_KEY_ROTATED, details__scope="batch"
        )
        assert batch.details["column"] == "mfa.Authenticator.data"
        assert batch.details["from_key_ids"] == ["t2"]

    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_KEY):
        totp = Authenticator.objects.get(type=Authenticator.Type.TOTP)
        assert TOTP(totp).validate_code(pyotp.TOTP(secret).now())
        recovery = Authenticator.objects.get(type=Authenticator.Type.RECOVERY_CODES)
        assert RecoveryCodes(recovery).get_unused_codes() == codes


def test_every_committed_batch_is_audited_with_its_counts(five_credentials) -> None:
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        call_command("rotate_encryption_key", "--batch-size", "2", stdout=StringIO())

    batches = [
        e.details["reencrypted"]
        for e in AuditEvent.objects.filter(action=AuditAction.ENCRYPTION_KEY_ROTATED).order_by(
            "seq"
        )
        if e.details["scope"] == "batch"
    ]
    # Five rows per column in batches of two: 2, 2, 1 for each of the two columns.
    assert batches == [2, 2, 1, 2, 2, 1]


def test_an_interrupted_rotation_leaves_every_row_readable_and_resumes(five_credentials) -> None:
    before = plaintexts()
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        out = StringIO()
        call_command("rotate_encryption_key", "--limit", "3", "--batch-size", "2", stdout=out)
        assert "re-encrypted: 3" in out.getvalue()
        assert "run again" in out.getvalue()
        assert sorted(key_ids()).count("n3") == 3
        assert plaintexts() == before  # mixed keys, all readable

        out = StringIO()
        call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)
        assert "re-encrypted: 7" in out.getvalue()
        assert "already under primary key: 3" in out.getvalue()
        assert set(key_ids()) == {"n3"}
        assert plaintexts() == before

        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "re-encrypted: 0" in out.getvalue()


def test_a_row_under_a_missing_key_is_reported_and_the_rest_rotated(five_credentials) -> None:
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        call_command("rotate_encryption_key", "--limit", "2", stdout=StringIO())
    # Drop the old key too early: the remaining rows name the missing key id.
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_KEY):
        err = StringIO()
        with pytest.raises(CommandError, match="8 secret"):
            call_command("rotate_encryption_key", stdout=StringIO(), stderr=err)
        assert "'t2'" in err.getvalue()


def test_generate_encryption_key_prints_a_valid_ring_entry() -> None:
    out = StringIO()
    call_command("generate_encryption_key", "--kid", "2027a", stdout=out)
    ring = cipher.KeyRing.parse(out.getvalue().strip())
    assert ring.primary_id == "2027a"
    with pytest.raises(CommandError):
        call_command("generate_encryption_key", "--kid", "bad id", stdout=StringIO())


def test_ensure_admin_creates_one_admin_only_once(db) -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "username admin" in out.getvalue()
    password = out.getvalue().split("password ")[1].split()[0]
    from django.contrib.auth import get_user_model

    from keyvault.web.roles import is_admin

    admin = get_user_model().objects.get()
    assert admin.check_password(password)
    assert is_admin(admin)
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert "no account created" in again.getvalue()
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the command runs in another process
def test_a_run_killed_midway_leaves_an_audit_log_that_matches_what_was_rewritten(
    make_credential,
) -> None:
    with override_settings(KEYVAULT_ENCRYPTION_KEYS=OLD_RING):
        for _ in range(300):
            make_credential()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_encryption_key", "--batch-size", "5"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url_for_subprocess(),
            "KEYVAULT_ENCRYPTION_KEYS": NEW_RING,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    rotated = AuditEvent.objects.filter(action=AuditAction.ENCRYPTION_KEY_ROTATED)
    deadline = time.monotonic() + 60
    while not rotated.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    with override_settings(KEYVAULT_ENCRYPTION_KEYS=NEW_RING):
        moved = key_ids().count("n3")
        audited = sum(e.details["reencrypted"] for e in rotated if e.details["scope"] == "batch")
        assert proc.returncode == -signal.SIGKILL, "the run finished before it was killed"
        assert 0 < moved < 600
        assert audited == moved
        assert not rotated.filter(details__scope="run").exists()
        # And the next run finishes the work and records it.
        call_command("rotate_encryption_key", stdout=StringIO())
        assert key_ids().count("n3") == 600
