"""Start-up configuration: required secrets outside DEBUG, dev key files in DEBUG, deploy check."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_KEYS = {
    "SECRET_KEY": "prod-secret-" + "k" * 50,
    "KEYVAULT_ENCRYPTION_KEYS": "p1:" + "UFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFA=",
    "KEYVAULT_FINGERPRINT_KEY": "RkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkY=",
    "KEYVAULT_AUDIT_SIGNING_KEY": "U1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1M=",
    # Not a secret, but required outside DEBUG too: where the signed checkpoints go.
    "KEYVAULT_AUDIT_CHECKPOINT_FILE": "/srv/keyvault-anchor/audit-checkpoints.jsonl",
}


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py with keyvault.settings and only the environment given (plus PATH)."""
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "keyvault.settings",
        "KEYVAULT_VAR_DIR": str(tmp_path / "var"),
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if name in os.environ:
            base[name] = os.environ[name]
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", sorted(PROD_KEYS))
def test_a_missing_secret_stops_startup_with_one_line_naming_it(
    tmp_path: Path, missing: str
) -> None:
    env = {k: v for k, v in PROD_KEYS.items() if k != missing}
    result = manage(tmp_path, "check", DEBUG="0", **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]
    assert "Traceback" not in result.stderr


def test_a_malformed_key_ring_stops_startup(tmp_path: Path) -> None:
    env = {**PROD_KEYS, "KEYVAULT_ENCRYPTION_KEYS": "p1:tooshort"}
    result = manage(tmp_path, "check", DEBUG="0", **env)
    assert result.returncode != 0
    assert "KEYVAULT_ENCRYPTION_KEYS" in result.stderr
    assert "32 bytes" in result.stderr


def test_a_malformed_audit_signing_key_fails_the_system_check(tmp_path: Path) -> None:
    env = {**PROD_KEYS, "KEYVAULT_AUDIT_SIGNING_KEY": "c2hvcnQ="}
    result = manage(tmp_path, "check", DEBUG="0", **env)
    assert result.returncode != 0
    assert "keyvault.E004" in result.stderr
    assert "KEYVAULT_AUDIT_SIGNING_KEY must be 32 bytes (Ed25519), not 5" in result.stderr
    assert "c2hvcnQ=" not in result.stderr + result.stdout


def test_debug_puts_the_audit_checkpoint_file_under_the_var_folder(tmp_path: Path) -> None:
    show = "from django.conf import settings; print(settings.KEYVAULT_AUDIT_CHECKPOINT_FILE)"
    result = manage(tmp_path, "shell", "-c", show, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(tmp_path / "var" / "audit-checkpoints.jsonl")


def test_a_checkpoint_interval_below_one_event_stops_startup(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", DEBUG="0", KEYVAULT_AUDIT_CHECKPOINT_EVERY="0", **PROD_KEYS)
    assert result.returncode != 0
    assert "KEYVAULT_AUDIT_CHECKPOINT_EVERY must be at least 1" in result.stderr


def test_debug_creates_private_key_files_once_and_says_so(tmp_path: Path) -> None:
    first = manage(tmp_path, "check", DEBUG="1")
    assert first.returncode == 0, first.stderr
    for name, variable in [
        ("secret_key", "SECRET_KEY"),
        ("encryption_keys", "KEYVAULT_ENCRYPTION_KEYS"),
        ("fingerprint_key", "KEYVAULT_FINGERPRINT_KEY"),
        ("audit_signing_key", "KEYVAULT_AUDIT_SIGNING_KEY"),
    ]:
        path = tmp_path / "var" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert variable in first.stderr
    ring = (tmp_path / "var" / "encryption_keys").read_text()
    second = manage(tmp_path, "check", DEBUG="1")
    assert second.returncode == 0
    assert "created" not in second.stderr
    assert (tmp_path / "var" / "encryption_keys").read_text() == ring


def test_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        ALLOWED_HOSTS="keyvault.example.com",
        **PROD_KEYS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
