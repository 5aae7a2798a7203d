"""Create the first admin account when no user exists; print its password once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from keyvault.accounts.services import first_admin_ensure


class Command(BaseCommand):
    help = "Create a first admin (username 'admin' by default) if the database has no user yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        created = first_admin_ensure(username=username, now=timezone.now())
        if created is None:
            self.stdout.write("Users exist already; no account created.")
            return
        user, password = created
        self.stdout.write(
            self.style.SUCCESS(
                f"Created first admin account: username {user.get_username()}"
                f"  password {password}\n"
                "This password is shown once; change it on your account page after signing "
                "in (/account/)."
            )
        )
