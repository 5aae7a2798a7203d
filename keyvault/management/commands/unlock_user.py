"""Clear a user's failed sign-ins and wrong passwords at Reveal (audited)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404
from django.utils import timezone

from keyvault.accounts.selectors import user_get
from keyvault.accounts.services import user_unlock


class Command(BaseCommand):
    help = (
        "Unlock USERNAME: clear django-axes' failed sign-ins and keyvault's reveal limit, as the "
        "users page's Unlock does."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            user = user_get(username=username)
        except Http404:
            raise CommandError(f"no user {username!r}") from None
        changed = user_unlock(
            user=user, actor=None, actor_label="manage.py unlock_user", now=timezone.now()
        )
        self.stdout.write(
            f"Unlocked {username}." if changed else f"{username} was not locked; nothing changed."
        )
