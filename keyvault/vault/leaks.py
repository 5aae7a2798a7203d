"""Secrets in free text: find them, redact them from text we store, refuse them where people
type.

A secret "appears" in a text when the text holds it whole, or any run of ``MIN_FRAGMENT`` or
more of its characters (a provider may echo part of a URL, truncate it, or percent-encode it;
a person may paste half a token). Pure functions: no database, no decryption here — callers
pass the plaintexts they hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.core.exceptions import ValidationError

#: The shortest run of a secret's characters that counts as the secret.
MIN_FRAGMENT = 12
REDACTED = "[redacted]"
LOOKS_LIKE_KEY = "This looks like the key — never paste secrets here."
#: ``ValidationError.code`` of a field refused for holding a secret: its value is not shown
#: again (``keyvault.web.forms.apply_service_errors``).
LEAK_CODE = "looks_like_key"


def _forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as typed and percent-encoded (as a server echoing a URL may write it)."""
    out: list[str] = []
    for secret in secrets:
        if not secret:
            continue
        for form in (secret, quote(secret), quote(secret, safe="")):
            if form not in out:
                out.append(form)
    return out


def _covered(text: str, secrets: Iterable[str]) -> list[bool]:
    """For each character of ``text``: is it part of a secret, or of a long run of one?"""
    covered = [False] * len(text)
    windows: set[str] = set()
    for secret in _forms(secrets):
        if len(secret) < MIN_FRAGMENT:
            # Too short to cut into fragments: only the whole secret counts.
            start = text.find(secret)
            while start != -1:
                covered[start : start + len(secret)] = [True] * len(secret)
                start = text.find(secret, start + 1)
            continue
        windows.update(secret[i : i + MIN_FRAGMENT] for i in range(len(secret) - MIN_FRAGMENT + 1))
    if windows:
        for i in range(len(text) - MIN_FRAGMENT + 1):
            if text[i : i + MIN_FRAGMENT] in windows:
                covered[i : i + MIN_FRAGMENT] = [True] * MIN_FRAGMENT
    return covered


def contains_secret(text: str, secrets: Iterable[str]) -> bool:
    """True when ``text`` holds any of ``secrets``, or ``MIN_FRAGMENT``+ characters of one."""
    return any(_covered(text, secrets))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every appearance of a secret (or a long run of one) replaced by
    ``[redacted]``; unchanged when none appears."""
    covered = _covered(text, secrets)
    if not any(covered):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if not covered[i]:
            out.append(char)
        elif i == 0 or not covered[i - 1]:
            out.append(REDACTED)
    return "".join(out)


def refuse_secrets(fields: dict[str, str], *, secrets: Iterable[str]) -> None:
    """Raise ``ValidationError`` keyed by field for every free-text field holding a secret."""
    known = [s for s in secrets if s]
    errors = {
        name: [ValidationError(LOOKS_LIKE_KEY, code=LEAK_CODE)]
        for name, value in fields.items()
        if value and contains_secret(value, known)
    }
    if errors:
        raise ValidationError(errors)
