"""The two roles (Django groups) and the view decorators that enforce them server-side."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from keyvault.models import Role


def _groups(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_keyvault_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._keyvault_groups = cached
    return cached


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active) or (
        Role.ADMIN.value in _groups(user)
    )


def is_viewer(user: Any) -> bool:
    """Admins and auditors may read metadata; anyone else signed in sees nothing."""
    return is_admin(user) or Role.AUDITOR.value in _groups(user)


View = Callable[..., HttpResponse]


def _require(check: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = _require(is_admin)
viewer_required = _require(is_viewer)
