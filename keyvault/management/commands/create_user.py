"""Create a keyvault user in a role; print a set-password link (or a generated password)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from keyvault.accounts.invites import invite_link
from keyvault.accounts.services import user_add
from keyvault.models import Role


class Command(BaseCommand):
    help = (
        "Create a user as admin or auditor (audited) and print a single-use set-password link "
        "for them, or with --password-now a generated password they can sign in with at once. "
        "Run it with the web process's environment (SECRET_KEY signs the link)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[Role.ADMIN, Role.AUDITOR])
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-now",
            action="store_true",
            help="Set a generated password and print it (break-glass; no link).",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        role: str,
        email: str,
        password_now: bool,
        **options: Any,
    ) -> None:
        now = timezone.now()
        password = secrets.token_urlsafe(18) if password_now else None
        try:
            user = user_add(
                username=username,
                email=email,
                role=Role(role),
                password=password,
                actor_label="manage.py create_user",
                now=now,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if password is not None:
            self.stdout.write(
                f"Created {role} {user.get_username()} with password {password}\n"
                "It is shown once; they can change it on their account page."
            )
            return
        self.stdout.write(
            f"Created {role} {user.get_username()}. Give them this set-password link (it works "
            f"once, for {settings.KEYVAULT_INVITE_MAX_AGE_HOURS} hours):\n"
            f"{invite_link(user=user, now=now)}"
        )
