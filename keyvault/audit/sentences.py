"""Audit events in words: one plain-text sentence per event, its outcome, and the credential
hint it concerns — for the audit log page and the export.

Pure: built only from what the event stored (action, actor label, integration name, details),
which never holds a secret, so no sentence can either. Plain text: templates escape it like any
other value. An event whose details lack a field (older rows, hand-made rows) still gets a
sentence; the missing part is left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models

from keyvault.accounts.sentences import USER_SENTENCES
from keyvault.api.sentences import API_SENTENCES
from keyvault.audit import check_sentences, delivery_sentences
from keyvault.audit.facts import EventFacts, iso_day_text, quoted
from keyvault.models import AuditAction, AuditEvent, Integration
from keyvault.rotation.sentences import ROTATION_SENTENCES
from keyvault.vault.expiry import lead_time_phrase
from keyvault.vault.providers import ProviderKind
from keyvault.vault.sentences import LIFECYCLE_SENTENCES


class Outcome(models.TextChoices):
    """Whether the thing an event records went through."""

    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"


_FILTER_WORDS = {
    "integration_id": "integration",
    "actor_id": "who",
    "action": "action",
    "date_from": "date",
    "date_to": "date",
    "q": "search",
}
_EXPORT_WHAT = {"rotation_history": "the rotation history", "inventory": "the inventory"}


def event_outcome(*, action: str, details: Mapping[str, Any]) -> Outcome:
    """Refused for a refused reveal, failed for failed sign-ins, reminders, test
    notifications and re-encryptions that left rows behind; otherwise succeeded."""
    if action == AuditAction.CREDENTIAL_REVEAL_DENIED:
        return Outcome.REFUSED
    if action in (
        AuditAction.LOGIN_FAILED,
        AuditAction.REMINDER_FAILED,
        AuditAction.DIGEST_FAILED,
        AuditAction.NOTICE_FAILED,
    ):
        return Outcome.FAILED
    if action == AuditAction.CHANNEL_TESTED and details.get("ok") is False:
        return Outcome.FAILED
    if action == AuditAction.ENCRYPTION_KEY_ROTATED and details.get("failed"):
        return Outcome.FAILED
    return Outcome.SUCCEEDED


def _names(value: Any) -> str:
    """Changed fields, in order of appearance: “owner, notes”."""
    if isinstance(value, Mapping):
        return ", ".join(str(k).replace("_", " ") for k in value)
    return ""


def _login(f: EventFacts) -> str:
    return f"{f.who} signed in"


_SIGN_IN_REFUSED = {
    "wrong code": " (wrong second-factor code)",
    "security key refused": " (security key refused)",
}


def _login_failed(f: EventFacts) -> str:
    username = f.text("username") or f.actor
    why = _SIGN_IN_REFUSED.get(f.text("reason"), "")
    return f"a sign-in as {quoted(username)} failed{why}" if username else "a sign-in failed"


def _logout(f: EventFacts) -> str:
    return f"{f.who} signed out"


def _integration_created(f: EventFacts) -> str:
    name = f.integration or f.text("name")
    provider = f.text("provider")
    label = ProviderKind(provider).label if provider in ProviderKind.values else provider
    return f"{f.who} created the integration {name}" + (f"; provider {label}" if label else "")


def _integration_edited(f: EventFacts) -> str:
    changed = _names(f.details.get("changed"))
    name = f.integration or "an integration"
    return f"{f.who} edited {name}" + (f": changed {changed}" if changed else "")


def _credential_created(f: EventFacts) -> str:
    expires = f.text("expires_at")
    return f"{f.who} added {f.key}" + (f", expiring {iso_day_text(expires)}" if expires else "")


def _credential_revealed(f: EventFacts) -> str:
    return f"{f.who} revealed {f.key}"


def _reveal_denied(f: EventFacts) -> str:
    reason = f.text("reason")
    return f"{f.who} was refused {f.key}" + (f" ({reason})" if reason else "")


def _credential_rotated(f: EventFacts) -> str:
    name = f"the {f.integration} key" if f.integration else "a key"
    sentence = f"{f.who} rotated {name}"
    lead = f.details.get("lead_time_days")
    if isinstance(lead, int) and not isinstance(lead, bool):
        sentence += f" {lead_time_phrase(lead)}"
    if f.text("reason"):
        sentence += f"; reason {quoted(f.text('reason'))}"
    if f.details.get("idp_updated") is False:
        sentence += "; identity provider update not confirmed"
    return sentence


def _credential_revoked(f: EventFacts) -> str:
    reason = f.text("reason")
    return f"{f.who} revoked {f.key}" + (f"; reason {quoted(reason)}" if reason else "")


def _credential_edited(f: EventFacts) -> str:
    changed = _names(f.details.get("changed"))
    return f"{f.who} edited {f.key}" + (f": changed {changed}" if changed else "")


def _credential_destroyed(f: EventFacts) -> str:
    state = f.text("state")
    sentence = f"{f.who} destroyed the secret of {f.key}"
    if state:
        sentence += f" ({state})"
    grace = f.details.get("grace_days")
    if isinstance(grace, int) and not isinstance(grace, bool):
        sentence += f" after its {grace}-day grace period"
    return sentence


def _channel(f: EventFacts) -> str:
    kind = f.text("kind") or f.text("channel_kind")
    name = f.text("name") or f.text("channel")
    kind_word = {
        "slack": "Slack ",
        "email": "email ",
        "teams": "Teams ",
        "webhook": "webhook ",
    }.get(kind, "")
    return f"the {kind_word}channel {quoted(name)}" if name else f"a {kind_word}channel"


def _channel_created(f: EventFacts) -> str:
    sentence = f"{f.who} created {_channel(f)}"
    integrations = f.details.get("integrations")
    if f.details.get("is_default"):
        sentence += " (a default channel)"
    elif isinstance(integrations, list) and integrations:
        sentence += " for " + ", ".join(str(i) for i in integrations)
    return sentence


def _channel_changed(f: EventFacts) -> str:
    if f.details.get("signing_secret") == "rotated":
        return f"{f.who} rotated the signing secret of {_channel(f)}"
    changed = _names(f.details.get("changed"))
    return f"{f.who} changed {_channel(f)}" + (f": {changed}" if changed else "")


def _channel_deleted(f: EventFacts) -> str:
    dropped = f.details.get("pending_reminders_dropped")
    sentence = f"{f.who} deleted {_channel(f)}"
    if isinstance(dropped, int) and dropped:
        sentence += f", dropping {dropped} pending reminder{'s' if dropped != 1 else ''}"
    return sentence


def _channel_tested(f: EventFacts) -> str:
    sentence = f"{f.who} sent a test notification to {_channel(f)}"
    if f.details.get("ok") is False:
        return sentence + (f": it failed ({f.text('error')})" if f.text("error") else ": it failed")
    return sentence + ": delivered"


def _audit_exported(f: EventFacts) -> str:
    what = _EXPORT_WHAT.get(f.text("export"), "the audit log")
    fmt = f.text("format").upper()
    if f.text("export"):
        start, end = f.text("date_from"), f.text("date_to")
        span = f" from {start} to {end}" if start and end else ""
        return f"{f.who} exported {what}{span}" + (f" ({fmt})" if fmt else "")
    filters = f.details.get("filters")
    words = list(dict.fromkeys(_FILTER_WORDS.get(k, k) for k in filters or {}))
    scope = f", filtered by {', '.join(words)}" if words else ", unfiltered"
    return f"{f.who} exported {what} ({fmt or 'unknown format'}{scope})"


def _count(value: Any, noun: str) -> str:
    return f"{value} {noun}{'' if value == 1 else 's'}" if isinstance(value, int) else f"{noun}s"


def _imported(f: EventFacts) -> str:
    fmt, meta = f.text("format").upper(), f.details.get("metadata_only")
    sentence = f"{f.who} imported {_count(f.details.get('rows'), 'integration')}"
    sentence += f" from a {fmt} file" if fmt else ""
    return sentence + (f" ({meta} metadata only)" if isinstance(meta, int) and meta else "")


def _feed_changed(f: EventFacts) -> str:
    replaced = " (the old one stops working)" if f.details.get("replaced") else ""
    return f"{f.who} made a new calendar feed address{replaced}"


def _key_rotated(f: EventFacts) -> str:
    count = f.details.get("reencrypted")
    sentence = f"{f.who} re-encrypted"
    sentence += f" {count} secret{'s' if count != 1 else ''}" if isinstance(count, int) else ""
    if f.text("column"):
        sentence += f" of {f.text('column')}"
    if f.text("primary_key_id"):
        sentence += f" under key {quoted(f.text('primary_key_id'))}"
    moved_from = f.details.get("from_key_ids")
    if isinstance(moved_from, list) and moved_from:
        sentence += " (from " + ", ".join(quoted(str(k)) for k in moved_from) + ")"
    if f.details.get("scope") == "run":
        sentence += ", in all"
    failed = f.details.get("failed")
    if isinstance(failed, int) and failed:
        sentence += f"; {failed} could not be re-encrypted"
    if f.details.get("complete") is False:
        sentence += "; not complete yet"
    return sentence


#: One sentence builder per action. ``tests/keyvault/test_sentences.py`` fails when an action
#: has none.
SENTENCES: dict[str, Callable[[EventFacts], str]] = {
    AuditAction.LOGIN: _login,
    AuditAction.LOGIN_FAILED: _login_failed,
    AuditAction.LOGOUT: _logout,
    AuditAction.INTEGRATION_CREATED: _integration_created,
    AuditAction.INTEGRATION_EDITED: _integration_edited,
    AuditAction.CREDENTIAL_CREATED: _credential_created,
    AuditAction.CREDENTIAL_REVEALED: _credential_revealed,
    AuditAction.CREDENTIAL_REVEAL_DENIED: _reveal_denied,
    AuditAction.CREDENTIAL_ROTATED: _credential_rotated,
    AuditAction.CREDENTIAL_REVOKED: _credential_revoked,
    AuditAction.CREDENTIAL_EDITED: _credential_edited,
    AuditAction.CREDENTIAL_DESTROYED: _credential_destroyed,
    AuditAction.CHANNEL_CREATED: _channel_created,
    AuditAction.CHANNEL_CHANGED: _channel_changed,
    AuditAction.CHANNEL_DELETED: _channel_deleted,
    AuditAction.CHANNEL_TESTED: _channel_tested,
    AuditAction.REMINDER_SENT: delivery_sentences.reminder_sent,
    AuditAction.REMINDER_FAILED: delivery_sentences.reminder_failed,
    AuditAction.REMINDER_RETRIED: delivery_sentences.reminder_retried,
    AuditAction.DIGEST_SENT: delivery_sentences.digest_sent,
    AuditAction.DIGEST_FAILED: delivery_sentences.digest_failed,
    AuditAction.NOTICE_SENT: delivery_sentences.notice_sent,
    AuditAction.NOTICE_FAILED: delivery_sentences.notice_failed,
    AuditAction.AUDIT_EXPORTED: _audit_exported,
    AuditAction.INTEGRATIONS_IMPORTED: _imported,
    AuditAction.CALENDAR_FEED_CHANGED: _feed_changed,
    AuditAction.ENCRYPTION_KEY_ROTATED: _key_rotated,
    AuditAction.CREDENTIAL_CHECKED: check_sentences.credential_checked,
    AuditAction.REPLACEMENT_CHECKED: check_sentences.replacement_checked,
    **USER_SENTENCES,
    **API_SENTENCES,
    **ROTATION_SENTENCES,
    **LIFECYCLE_SENTENCES,
}


def facts_sentence(facts: EventFacts) -> str:
    """The sentence for ``facts``; an action without a builder reads “<who>: <action>”."""
    build = SENTENCES.get(facts.action)
    if build is None:
        return f"{facts.who}: {facts.action}"
    return build(facts)


def _details_of(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def event_sentence(event: AuditEvent) -> str:
    """One event as a plain-text sentence, e.g. “alice rotated the Atlassian — acme key 7 days
    early; reason “yearly rotation””. Loads the event's integration when it is not loaded yet
    (select it with the event to avoid a query per row)."""
    try:
        integration = event.integration.name if event.integration is not None else ""
    except Integration.DoesNotExist:
        integration = ""  # the integration row is gone (no database constraint)
    return facts_sentence(
        EventFacts(
            action=event.action,
            actor=event.actor_label,
            integration=integration,
            details=_details_of(event.details),
        )
    )


def row_sentence(row: Mapping[str, Any]) -> str:
    """The sentence of an exported row: a mapping with ``action``, ``actor_label``,
    ``integration__name`` and ``details``."""
    return facts_sentence(
        EventFacts(
            action=str(row.get("action") or ""),
            actor=str(row.get("actor_label") or ""),
            integration=str(row.get("integration__name") or ""),
            details=_details_of(row.get("details")),
        )
    )
