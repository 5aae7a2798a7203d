"""Audit sentences of live checks (a stored key checked, a pasted replacement tested). Pure:
built from the stored event (result, HTTP status, the key's hint), which never holds the
token, the URL or the vendor's answer."""

from __future__ import annotations

from keyvault.audit.facts import EventFacts
from keyvault.vault.check_models import CheckStatus


def verdict(f: EventFacts) -> str:
    """“: valid (HTTP 200)”, or "" when the event says nothing of the result."""
    result = f.text("result")
    label = str(CheckStatus(result).label).lower() if result in CheckStatus.values else result
    sentence = f": {label}" if label else ""
    if f.text("http_status"):
        sentence += f" (HTTP {f.text('http_status')})"
    return sentence


def credential_checked(f: EventFacts) -> str:
    if f.details.get("scheduled"):
        return f"the daily check asked the vendor about {f.key}{verdict(f)}"
    return f"{f.who} checked {f.key} with the vendor{verdict(f)}"


def replacement_checked(f: EventFacts) -> str:
    return f"{f.who} tested a replacement for {f.key} with the vendor{verdict(f)}"
