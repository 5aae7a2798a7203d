"""Set-password links: signed, expiring, single-use.

A link carries the user's id, the moment it was made and a fingerprint of the account's state
(password hash, last sign-in, active flag), all signed with ``SECRET_KEY``. Setting the password
changes the state, so a used link — and any older link for the same user, since each new
invitation gives the account a new unusable password — no longer matches. The fingerprint is
an HMAC, so the link never carries the password hash itself.

The link is a credential for the account until it is used: it goes by email, or is shown once
to the admin who made it when email goes to the console (development). The token travels in the
query string, which the access log leaves out (``Procfile``), never in the path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "keyvault.accounts.invite"
_CONSOLE_BACKENDS = frozenset({"django.core.mail.backends.console.EmailBackend"})


class InviteError(Exception):
    """A set-password link that cannot be used; the message says why, for the person holding
    it."""


def invite_max_age() -> timedelta:
    return timedelta(hours=settings.KEYVAULT_INVITE_MAX_AGE_HOURS)


def _state(user: Any) -> str:
    last_login = user.last_login.isoformat() if user.last_login else ""
    value = f"{user.pk}:{user.password}:{last_login}:{int(user.is_active)}"
    return salted_hmac(_SALT, value).hexdigest()[:32]


def invite_token_make(*, user: Any, now: datetime) -> str:
    """A signed token that lets ``user`` set a password until ``invite_max_age()`` after
    ``now``, once."""
    return signing.dumps({"u": user.pk, "t": int(now.timestamp()), "s": _state(user)}, salt=_SALT)


def invite_link(*, user: Any, now: datetime) -> str:
    """The absolute set-password URL for ``user`` (``SITE_URL`` + the accept page)."""
    token = invite_token_make(user=user, now=now)
    return f"{settings.SITE_URL}{reverse('keyvault:invite_accept')}?{urlencode({'t': token})}"


def invite_user(*, token: str, now: datetime) -> Any:
    """The user a token lets set a password.

    Raises ``InviteError`` when the token is not one keyvault signed, has expired, was used
    already (or replaced by a newer link), or its user is gone or deactivated.
    """
    try:
        payload = signing.loads(token, salt=_SALT)
        user_id, made_at, state = int(payload["u"]), int(payload["t"]), str(payload["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InviteError("This link is not valid. Ask an admin for a new one.") from None
    if now.timestamp() - made_at > invite_max_age().total_seconds():
        raise InviteError("This link has expired. Ask an admin for a new one.")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise InviteError("This link is not valid. Ask an admin for a new one.")
    if not constant_time_compare(state, _state(user)):
        raise InviteError(
            "This link was used already or replaced by a newer one. Sign in, or ask an admin "
            "for a new link."
        )
    return user


def email_is_console() -> bool:
    """Whether email goes to the console (development), so a link must be shown instead."""
    return settings.EMAIL_BACKEND in _CONSOLE_BACKENDS


def invite_send(*, user: Any, link: str, invited_by: str) -> None:
    """Email ``link`` to ``user``. Network I/O: call it outside any transaction. Raises what
    the mail backend raises (``smtplib.SMTPException``, ``OSError``)."""
    context = {
        "user": user,
        "link": link,
        "invited_by": invited_by,
        "hours": settings.KEYVAULT_INVITE_MAX_AGE_HOURS,
        "site_url": settings.SITE_URL,
    }
    send_mail(
        subject=render_to_string("accounts/invite_subject.txt", context).strip(),
        message=render_to_string("accounts/invite_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
