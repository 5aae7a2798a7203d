"""Create an API token for a user and print it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from keyvault.api.models import Scope
from keyvault.api.problems import django_errors
from keyvault.api.tokens import DEFAULT_LIFETIME, api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME (scopes within the user's role) and print it once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What will use it, e.g. terraform")
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            dest="scopes",
            help="read, write or reveal; repeat for several (default: read)",
        )
        parser.add_argument(
            "--days", type=int, default=DEFAULT_LIFETIME.days, help="Lifetime, at most 365"
        )

    def handle(self, *args: Any, username: str, name: str, days: int, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        now = timezone.now()
        try:
            token, raw = api_token_create(
                user=user,
                name=name,
                scopes=options["scopes"] or [Scope.READ],
                expires_at=now + timedelta(days=days),
                actor=None,
                now=now,
            )
        except ValidationError as exc:
            problems = "; ".join(m for ms in django_errors(exc).values() for m in ms)
            raise CommandError(problems) from None
        self.stdout.write(raw)
        self.stderr.write(
            f"Token “{token.name}” for {username}: scopes {token.scopes}, expires"
            f" {token.expires_at:%Y-%m-%d}. It is shown once; keyvault keeps only its hash."
        )
