"""User accounts and roles."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from keyvault.models import Role


def first_admin_ensure(*, username: str = "admin") -> tuple[Any, str] | None:
    """Create an admin with a generated password when there is no user at all.

    Returns ``(user, password)`` when it created one, ``None`` when users already exist.
    """
    User = get_user_model()
    with transaction.atomic():
        if User.objects.exists():
            return None
        password = secrets.token_urlsafe(18)
        user = User.objects.create_user(username=username, password=password)
        user.groups.add(Group.objects.get_or_create(name=Role.ADMIN.value)[0])
    return user, password


def user_create(*, username: str, password: str, role: Role) -> Any:
    """Create a user in one role (used by tests and by operators from the shell)."""
    User = get_user_model()
    user = User.objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user
