"""Development-only key files under ``var/``, created on first use when ``DEBUG`` is on.

Outside DEBUG nothing here runs: settings refuse to start without the real variables.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def new_key_b64() -> str:
    """Return 32 random bytes, base64-encoded (an AES-256 or HMAC-SHA256 key)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_encryption_ring_entry(kid: str | None = None) -> str:
    """Return one ``kid:base64key`` entry for ``KEYVAULT_ENCRYPTION_KEYS``."""
    kid = kid or "k" + secrets.token_hex(4)
    return f"{kid}:{new_key_b64()}"


def read_or_create(path: Path, factory: Callable[[], str], *, label: str) -> str:
    """Return the content of ``path``, creating it (mode 0600) from ``factory`` if missing.

    Creation uses ``O_EXCL`` so several processes starting at once agree on one value.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(factory() + "\n")
    sys.stderr.write(f"keyvault: DEBUG is on and {label} is not set; created {path} (mode 0600)\n")
    return path.read_text().strip()


def path_or_refuse(value: str, *, dev_default: Path | None, refusal: str) -> str:
    """``value`` when set; else ``dev_default`` (given in DEBUG only); else
    ``ImproperlyConfigured(refusal)``: a path that is a decision has no silent default."""
    if value.strip():
        return value.strip()
    if dev_default is not None:
        return str(dev_default)
    raise ImproperlyConfigured(refusal)
