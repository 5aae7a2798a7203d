"""Audit sentences for changes to user accounts (merged into ``keyvault.audit.sentences``)."""

from __future__ import annotations

from collections.abc import Callable

from keyvault.audit.facts import EventFacts, quoted
from keyvault.models import AuditAction


def _user(f: EventFacts) -> str:
    return quoted(f.text("username")) if f.text("username") else "a user"


def _role_word(value: str) -> str:
    return {"admin": "an admin", "auditor": "an auditor"}.get(value, value or "no role")


def _as_role(f: EventFacts) -> str:
    return f" as {_role_word(f.text('role'))}" if f.text("role") else ""


def _user_invited(f: EventFacts) -> str:
    if f.details.get("renewed"):
        return f"{f.who} sent {_user(f)} a new set-password link"
    return f"{f.who} invited {_user(f)}{_as_role(f)}"


def _user_created(f: EventFacts) -> str:
    return f"{f.who} created the user {_user(f)}{_as_role(f)}, with a password"


def _user_password_set(f: EventFacts) -> str:
    return f"{f.who} set their password from a set-password link"


def _user_password_changed(f: EventFacts) -> str:
    return f"{f.who} changed their password"


def _user_password_change_refused(f: EventFacts) -> str:
    return f"{f.who} was refused a password change (wrong current password)"


def _user_role_changed(f: EventFacts) -> str:
    before = f" (was {_role_word(f.text('from'))})" if f.text("from") else ""
    return f"{f.who} made {_user(f)} {_role_word(f.text('to'))}{before}"


def _user_deactivated(f: EventFacts) -> str:
    return f"{f.who} deactivated {_user(f)}"


def _user_reactivated(f: EventFacts) -> str:
    return f"{f.who} reactivated {_user(f)}"


def _user_unlocked(f: EventFacts) -> str:
    return f"{f.who} unlocked {_user(f)}"


def _user_sso_created(f: EventFacts) -> str:
    return f"{_user(f)} signed in through SSO for the first time and was created{_as_role(f)}"


def _user_sso_role_changed(f: EventFacts) -> str:
    before = f" (was {_role_word(f.text('from'))})" if f.text("from") else ""
    if not f.text("to"):
        return f"the identity provider's groups took {_user(f)}'s role away{before}"
    return f"the identity provider's groups made {_user(f)} {_role_word(f.text('to'))}{before}"


def _user_sso_refused(f: EventFacts) -> str:
    reason = f": {f.text('reason')}" if f.text("reason") else ""
    return f"SSO sign-in of {_user(f)} was refused{reason}"


def _user_mfa_enabled(f: EventFacts) -> str:
    return f"{f.who} turned on two-factor authentication ({f.text('kind') or 'authenticator app'})"


def _user_mfa_disabled(f: EventFacts) -> str:
    return f"{f.who} turned off two-factor authentication ({f.text('kind') or 'authenticator app'})"


def _user_mfa_codes_regenerated(f: EventFacts) -> str:
    return f"{f.who} made new recovery codes (the old ones stopped working)"


def _user_mfa_reset(f: EventFacts) -> str:
    return f"{f.who} reset the two-factor authentication of {_user(f)}"


USER_SENTENCES: dict[str, Callable[[EventFacts], str]] = {
    AuditAction.USER_INVITED: _user_invited,
    AuditAction.USER_CREATED: _user_created,
    AuditAction.USER_PASSWORD_SET: _user_password_set,
    AuditAction.USER_PASSWORD_CHANGED: _user_password_changed,
    AuditAction.USER_PASSWORD_CHANGE_REFUSED: _user_password_change_refused,
    AuditAction.USER_ROLE_CHANGED: _user_role_changed,
    AuditAction.USER_DEACTIVATED: _user_deactivated,
    AuditAction.USER_REACTIVATED: _user_reactivated,
    AuditAction.USER_UNLOCKED: _user_unlocked,
    AuditAction.USER_SSO_CREATED: _user_sso_created,
    AuditAction.USER_SSO_ROLE_CHANGED: _user_sso_role_changed,
    AuditAction.USER_SSO_REFUSED: _user_sso_refused,
    AuditAction.USER_MFA_ENABLED: _user_mfa_enabled,
    AuditAction.USER_MFA_DISABLED: _user_mfa_disabled,
    AuditAction.USER_MFA_CODES_REGENERATED: _user_mfa_codes_regenerated,
    AuditAction.USER_MFA_RESET: _user_mfa_reset,
}
