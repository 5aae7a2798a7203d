from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from keyvault.web.roles import is_admin, is_viewer


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"is_admin": is_admin(user), "is_viewer": is_viewer(user)}
