"""Re-entering one's password before a sensitive action (a reveal).

The check goes through ``authenticate`` so django-axes counts a wrong password and throttles
guessing exactly as at sign-in. Django then sends ``user_login_failed`` as it does for any
failed authentication; the request is marked while the check runs so the sign-in receiver
knows this was not a sign-in and leaves the refusal to the caller, which audits it as its own
event (one event per refused attempt).
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

#: Set on the request for the duration of ``password_confirm``.
CONFIRMING_ATTRIBUTE = "keyvault_confirming_password"


@sensitive_variables("password")
def password_confirm(request: HttpRequest, *, password: str) -> bool:
    """True when ``password`` is the signed-in user's own. A wrong one counts towards the
    django-axes lock-out (which then sets ``request.axes_locked_out``) but is not audited as a
    failed sign-in: the caller records the refusal."""
    setattr(request, CONFIRMING_ATTRIBUTE, True)
    try:
        user = authenticate(request, username=request.user.get_username(), password=password)
    finally:
        delattr(request, CONFIRMING_ATTRIBUTE)
    return user is not None and user.pk == request.user.pk


def is_password_confirmation(request: HttpRequest | None) -> bool:
    """Whether ``request`` is inside ``password_confirm`` (not a sign-in)."""
    return request is not None and bool(getattr(request, CONFIRMING_ATTRIBUTE, False))
