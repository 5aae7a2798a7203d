"""API tokens: create (shown once), authenticate, record use, revoke.

A token is ``kv_`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is stored:
with that much randomness a plain hash cannot be reversed or guessed, and a lookup by hash needs
no per-row work. Every service is keyword-only and takes ``now`` from its caller.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from keyvault.api.models import ApiToken, Scope
from keyvault.audit.chain import audit_append
from keyvault.models import AuditAction
from keyvault.web.roles import is_admin, is_viewer

TOKEN_PREFIX = "kv_"  # noqa: S105 - the marker every token starts with, not a secret
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)
NAME_MAX_LENGTH = 100
#: ``last_used_at`` is written at most this often per token: a busy script would otherwise
#: turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scopes_allowed(user: Any) -> frozenset[str]:
    """The scopes ``user``'s role allows: admins all three, auditors ``read``, others none."""
    if is_admin(user):
        return frozenset(Scope.values)
    if is_viewer(user):
        return frozenset({Scope.READ.value})
    return frozenset()


def _clean(
    *, user: Any, name: str, scopes: Iterable[str], expires_at: datetime | None, now: datetime
) -> tuple[str, list[str], datetime]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the token a name, e.g. the script or tool that will use it."]
    elif len(name) > NAME_MAX_LENGTH or not name.isprintable():
        errors["name"] = [f"Use up to {NAME_MAX_LENGTH} printable characters."]
    wanted = sorted(set(scopes))
    allowed = scopes_allowed(user)
    if not wanted:
        errors["scopes"] = ["Choose at least one scope."]
    elif unknown := [s for s in wanted if s not in Scope.values]:
        errors["scopes"] = [f"Unknown scope: {', '.join(unknown)}."]
    elif beyond := [s for s in wanted if s not in allowed]:
        errors["scopes"] = [f"Your role does not allow the scope {', '.join(beyond)}."]
    expires_at = expires_at or now + DEFAULT_LIFETIME
    if expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + MAX_LIFETIME:
        errors["expires_at"] = ["A token lives at most one year."]
    if errors:
        raise ValidationError(errors)
    return name, wanted, expires_at


def _details(token: ApiToken) -> dict[str, Any]:
    return {
        "token_name": token.name,
        "token_prefix": token.prefix,
        "owner": token.user.get_username(),
    }


def api_token_create(
    *,
    user: Any,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    actor: Any,
    now: datetime,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns ``(token, plaintext)``. The plaintext exists only in
    this return value: show it once. Audited ``API_TOKEN_CREATED``.

    Raises ``ValidationError`` keyed by ``name``, ``scopes`` or ``expires_at``: no name, no scope,
    a scope beyond the user's role, an expiry not in the future or more than a year away.
    """
    if not getattr(user, "is_active", False):
        raise ValidationError({"__all__": ["This account is deactivated."]})
    name, wanted, expires_at = _clean(
        user=user, name=name, scopes=scopes, expires_at=expires_at, now=now
    )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=raw[:10],
            key_hash=token_hash(raw),
            scopes=",".join(wanted),
            created_at=now,
            expires_at=expires_at,
        )
        audit_append(
            action=AuditAction.API_TOKEN_CREATED,
            now=now,
            actor=actor,
            target=token,
            ip=ip,
            details={**_details(token), "scopes": wanted, "expires_at": expires_at.isoformat()},
        )
    return token, raw


def api_token_revoke(*, token: ApiToken, actor: Any, now: datetime, ip: str | None = None) -> bool:
    """Revoke ``token``; audited ``API_TOKEN_REVOKED``. Returns False (writing nothing) when it
    was already revoked."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if revoked != 1:
            return False
        token.revoked_at = now
        audit_append(
            action=AuditAction.API_TOKEN_REVOKED,
            now=now,
            actor=actor,
            target=token,
            ip=ip,
            details=_details(token),
        )
    return True


def api_token_authenticate(*, raw: str, now: datetime) -> ApiToken | None:
    """The live token whose plaintext is ``raw`` (with its user), else None: unknown, revoked,
    expired, or its owner deactivated. Records ``last_used_at`` (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_request_record(
    *,
    token: ApiToken,
    scope: str,
    method: str,
    path: str,
    status: int,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Audit one API request that used a write or reveal scope (``API_REQUEST``), whatever
    its outcome: what was called, with which token, and the status it got."""
    audit_append(
        action=AuditAction.API_REQUEST,
        now=now,
        actor=token.user,
        target=token,
        ip=ip,
        details={
            **_details(token),
            "scope": scope,
            "method": method,
            "path": path[:300],
            "status": status,
        },
    )
