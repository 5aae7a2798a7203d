"""keyvault's django-allauth adapter: registration is closed.

People get an account from an invitation (the users page) or ``manage.py create_user``; nobody
signs themselves up. allauth asks ``is_open_for_signup`` before every signup, so this adapter is
the one place that says no.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Never: accounts are invited or created from the shell."""
        return False


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username django-axes counts a sign-in attempt against.

    allauth authenticates with ``username=`` (counted from the credentials) but posts its form
    field as ``login``, which is where axes looks when it only has the request.
    """
    if credentials:
        return credentials.get("username")
    data = getattr(request, "data", request.POST)
    return data.get("login") or data.get("username")
