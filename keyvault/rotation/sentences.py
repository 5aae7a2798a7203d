"""Audit sentences of the identity provider after a rotation (merged into
``keyvault.audit.sentences.SENTENCES``). Built from stored details only: the key's hint and the
identity provider, never the token."""

from __future__ import annotations

from collections.abc import Callable

from keyvault.audit.facts import EventFacts, iso_day_text
from keyvault.models import AuditAction
from keyvault.vault.providers import IdentityProvider


def _idp_confirmed(f: EventFacts) -> str:
    code = f.text("identity_provider")
    idp = str(IdentityProvider(code).label) if code in IdentityProvider.values else ""
    sentence = f"{f.who} confirmed that {idp or 'the identity provider'} has {f.key}"
    rotated = f.text("rotated_at")
    return sentence + (f" (rotated on {iso_day_text(rotated)})" if rotated else "")


ROTATION_SENTENCES: dict[str, Callable[[EventFacts], str]] = {
    AuditAction.CREDENTIAL_IDP_CONFIRMED: _idp_confirmed,
}
