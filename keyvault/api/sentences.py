"""Audit sentences of API tokens and API requests (merged into
``keyvault.audit.sentences.SENTENCES``). Built from stored details only: a token's name and
prefix, never the token."""

from __future__ import annotations

from collections.abc import Callable

from keyvault.audit.facts import EventFacts, iso_day_text
from keyvault.models import AuditAction


def _token(f: EventFacts) -> str:
    name, prefix = f.text("token_name"), f.text("token_prefix")
    words = f"the API token “{name}”" if name else "an API token"
    return f"{words} ({prefix}…)" if prefix else words


def _token_created(f: EventFacts) -> str:
    owner = f.text("owner")
    sentence = f"{f.who} created {_token(f)}"
    if owner and owner != f.actor:
        sentence += f" for {owner}"
    scopes = f.details.get("scopes")
    if isinstance(scopes, list) and scopes:
        sentence += f" with scopes {', '.join(str(s) for s in scopes)}"
    expires = f.text("expires_at")
    return sentence + (f", valid until {iso_day_text(expires)}" if expires else "")


def _token_revoked(f: EventFacts) -> str:
    return f"{f.who} revoked {_token(f)}"


def _token_reminded(f: EventFacts) -> str:
    days = f.details.get("days")
    when = ""
    if isinstance(days, int):
        when = " (expired)" if days <= 0 else f" ({days} day{'s' if days != 1 else ''} left)"
    return f"{f.who} reminded {f.text('owner') or 'its owner'} that {_token(f)} expires{when}"


def _api_request(f: EventFacts) -> str:
    method, path, status = f.text("method"), f.text("path"), f.text("status")
    sentence = f"{f.who} called {method} {path}".rstrip() + f" with {_token(f)}"
    scope = f.text("scope")
    if scope:
        sentence += f" ({scope} scope)"
    return sentence + (f": answered {status}" if status else "")


API_SENTENCES: dict[str, Callable[[EventFacts], str]] = {
    AuditAction.API_TOKEN_CREATED: _token_created,
    AuditAction.API_TOKEN_REVOKED: _token_revoked,
    AuditAction.API_TOKEN_REMINDED: _token_reminded,
    AuditAction.API_REQUEST: _api_request,
}
