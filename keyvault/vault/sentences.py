"""Audit sentences of corrections to a credential's life and of integrations' retirement
(merged into ``keyvault.audit.sentences.SENTENCES``). Built from stored details only."""

from __future__ import annotations

from collections.abc import Callable

from keyvault.audit.facts import EventFacts, iso_day_text, quoted
from keyvault.models import AuditAction


def _change(f: EventFacts, name: str, words: str) -> str:
    """“expiry 1 Mar 2027 → 1 May 2027”, or "" when the detail did not change or is absent."""
    old, new = f.text(f"old_{name}"), f.text(name)
    if not new or old == new:
        return ""
    return f"{words} {iso_day_text(old)} → {iso_day_text(new)}" if old else f"{words} {new}"


def _dates_corrected(f: EventFacts) -> str:
    changes = [
        change
        for change in (_change(f, "issued_at", "issued"), _change(f, "expires_at", "expiry"))
        if change
    ]
    sentence = f"{f.who} corrected the dates of {f.key}"
    if changes:
        sentence += ": " + ", ".join(changes)
    if f.details.get("expiry_confirmed") is True:
        sentence += ", confirming the expiry"
    reason = f.text("reason")
    return sentence + (f"; reason {quoted(reason)}" if reason else "")


def _expiry_confirmed(f: EventFacts) -> str:
    expires = f.text("expires_at")
    return f"{f.who} confirmed the expiry of {f.key}" + (
        f": {iso_day_text(expires)}" if expires else ""
    )


def _integration(f: EventFacts) -> str:
    return f.integration or f.text("name") or "an integration"


def _archived(f: EventFacts) -> str:
    return f"{f.who} archived {_integration(f)}: no more reminders, checks or notices"


def _restored(f: EventFacts) -> str:
    since = f.text("archived_at")
    sentence = f"{f.who} restored {_integration(f)}"
    return sentence + (f", archived since {iso_day_text(since)}" if since else "")


LIFECYCLE_SENTENCES: dict[str, Callable[[EventFacts], str]] = {
    AuditAction.CREDENTIAL_DATES_CORRECTED: _dates_corrected,
    AuditAction.CREDENTIAL_EXPIRY_CONFIRMED: _expiry_confirmed,
    AuditAction.INTEGRATION_ARCHIVED: _archived,
    AuditAction.INTEGRATION_RESTORED: _restored,
}
