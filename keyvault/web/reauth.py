"""Re-entering one's password before a sensitive action (a reveal).

The password is checked against the signed-in user's own hash, not through ``authenticate``:
a wrong one is not a failed sign-in, so it neither feeds django-axes (which would lock the
user out of sign-in) nor sends ``user_login_failed``. Guessing is throttled by keyvault's own
reveal limit (``keyvault.accounts.throttle``), counted from the refusals the caller audits.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables


@sensitive_variables("password")
def password_confirm(request: HttpRequest, *, password: str) -> bool:
    """True when ``password`` is the signed-in user's own (and the account is active)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.check_password(password))
