"""What an audit sentence is made of (``EventFacts``) and the small phrases every sentence
module shares. Pure: no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keyvault.web.dates import day_text


@dataclass(frozen=True)
class EventFacts:
    """What a sentence is made of: the stored fields of one event."""

    action: str
    actor: str  # the actor's label; empty for the system
    integration: str  # the integration's name; empty when the event has none
    details: Mapping[str, Any]

    def text(self, key: str) -> str:
        """A detail as text ("" when absent or null)."""
        value = self.details.get(key)
        return "" if value is None else str(value)

    @property
    def who(self) -> str:
        return self.actor or "system"

    @property
    def key(self) -> str:
        """“the Atlassian — acme key ····abcd”: the credential this event concerns."""
        hint = credential_hint(self.details)
        name = f"the {self.integration} key" if self.integration else "a key"
        return f"{name} ····{hint}" if hint else name


def credential_hint(details: Mapping[str, Any]) -> str:
    """The last four characters of the credential an event concerns ("" when none): the
    ``hint`` detail, or the new version's for a rotation."""
    return str(details.get("hint") or details.get("new_hint") or "")


def quoted(text: str) -> str:
    return f"“{text}”"


def iso_day_text(iso: str) -> str:
    """An ISO 8601 instant as a local date, “1 Mar 2027”; the text itself if it is not one."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return day_text(moment)
