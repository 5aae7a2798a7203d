"""keyvault's django-allauth adapter: registration is closed.

People get an account from an invitation (the users page) or ``manage.py create_user``; nobody
signs themselves up. allauth asks ``is_open_for_signup`` before every signup, so this adapter is
the one place that says no.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

#: The sign-in form's answer to a password while ``KEYVAULT_PASSWORD_LOGIN`` is off.
SIGN_IN_WITH_PROVIDER_ONLY = "Password sign-in is off here: sign in through your identity provider."


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Never: accounts are invited or created from the shell."""
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Refuse every password, before it is checked, while password sign-in is off
        (``KEYVAULT_PASSWORD_LOGIN=0``)."""
        if not settings.KEYVAULT_PASSWORD_LOGIN:
            raise ValidationError(SIGN_IN_WITH_PROVIDER_ONLY, code="password_login_off")
        super().pre_authenticate(request, **credentials)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username django-axes counts a sign-in attempt against.

    allauth authenticates with ``username=`` (counted from the credentials) but posts its form
    field as ``login``, which is where axes looks when it only has the request.
    """
    if credentials:
        return credentials.get("username")
    data = getattr(request, "data", request.POST)
    return data.get("login") or data.get("username")
