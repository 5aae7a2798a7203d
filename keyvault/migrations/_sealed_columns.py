"""Operations that turn text ciphertext columns into binary ones, for this app's and others'
migrations (a module whose name starts with ``_`` is not itself a migration).

Version 1 stored ``kv1:<key id>:<base64(nonce || ciphertext || tag)>`` in a text column;
version 2 stores ``b"kv\\x02" | len(key id) | key id | nonce || ciphertext || tag`` in a binary
column (see ``keyvault.crypto.cipher``). Only the framing changes: the key id, nonce, ciphertext and tag
are the same bytes, so no key is needed, and as each column keeps its name the associated data
(``table.column.row id``) still matches. Both directions are supported, so the migrations can be
reversed.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

from django.db import migrations, models

TEXT_VERSION = "kv1"
BINARY_MAGIC = b"kv\x02"
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
BATCH = 500


def text_to_binary(stored: str) -> bytes:
    """Repack a version 1 value; raises ``ValueError`` (naming no content) if malformed."""
    if not stored:
        return b""
    version, _, rest = stored.partition(":")
    kid, _, body = rest.partition(":")
    if version != TEXT_VERSION or not KEY_ID_RE.match(kid):
        raise ValueError("not a kv1 value")
    try:
        blob = binascii.a2b_base64(body, strict_mode=True)
    except binascii.Error:
        raise ValueError("kv1 value is not valid base64") from None
    raw = kid.encode("ascii")
    return BINARY_MAGIC + bytes([len(raw)]) + raw + blob


def binary_to_text(stored: bytes) -> str:
    """Repack a version 2 value into version 1; raises ``ValueError`` if malformed."""
    stored = bytes(stored)
    if not stored:
        return ""
    if stored[:3] != BINARY_MAGIC or len(stored) < 4:
        raise ValueError("not a version 2 value")
    end = 4 + stored[3]
    kid = stored[4:end].decode("ascii", errors="replace")
    if not KEY_ID_RE.match(kid):
        raise ValueError("version 2 value has a malformed key id")
    body = binascii.b2a_base64(stored[end:], newline=False).decode("ascii")
    return f"{TEXT_VERSION}:{kid}:{body}"


def _repack(
    app_label: str, model_name: str, pairs: list[tuple[str, str]], convert: Any
) -> Any:
    """A RunPython function copying each ``source`` column into ``target``, converted."""

    def run(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        manager = model._base_manager.using(schema_editor.connection.alias)
        sources = [source for source, _ in pairs]
        last = None
        while True:
            rows = manager.order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows.values_list("pk", *sources)[:BATCH])
            if not batch:
                return
            for pk, *values in batch:
                last = pk
                try:
                    changes = {
                        target: convert(value)
                        for (_, target), value in zip(pairs, values, strict=True)
                    }
                except ValueError as exc:
                    raise ValueError(f"{model._meta.label} {pk}: {exc}") from None
                manager.filter(pk=pk).update(**changes)

    return run


def binary_ciphertext_operations(
    app_label: str, model_name: str, columns: tuple[str, ...]
) -> list[migrations.operations.base.Operation]:
    """Add a binary twin per column, repack into it, drop the text column, take its name."""
    twins = [(column, f"{column}_v2") for column in columns]
    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name=model_name, name=twin, field=models.BinaryField(blank=True, default=b"")
        )
        for _, twin in twins
    ]
    operations.append(
        migrations.RunPython(
            _repack(app_label, model_name, twins, text_to_binary),
            _repack(app_label, model_name, [(t, c) for c, t in twins], binary_to_text),
        )
    )
    operations += [migrations.RemoveField(model_name=model_name, name=c) for c, _ in twins]
    operations += [
        migrations.RenameField(model_name=model_name, old_name=t, new_name=c) for c, t in twins
    ]
    return operations
