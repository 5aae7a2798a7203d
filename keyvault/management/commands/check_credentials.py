"""``python manage.py check_credentials [--integration ID]``: ask each vendor now whether it
still accepts its current key, through the same service as the daily beat job."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from keyvault.models import Integration
from keyvault.vault import checks
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.check_selectors import credentials_to_check
from keyvault.vault.live_check import NO_LIVE_CHECK, live_check_available


class Command(BaseCommand):
    help = (
        "Check current keys with their vendor (SCIM: GET /Users?count=1) and record the "
        "results; a key the vendor rejects raises an alert. Exit status 1 when any is rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--integration", type=uuid.UUID, metavar="ID", help="Check this integration only."
        )

    def handle(self, *args: Any, integration: uuid.UUID | None = None, **options: Any) -> None:
        if integration is not None:
            found = Integration.objects.filter(pk=integration).first()
            if found is None:
                raise CommandError(f"No integration has the id {integration}.")
            if not live_check_available(found.provider):
                raise CommandError(f"{found.name}: {NO_LIVE_CHECK.lower()}")
        counts = dict.fromkeys(CheckStatus, 0)
        skipped = 0
        for credential in credentials_to_check(integration_id=integration):
            name = credential.integration.name
            try:
                check = checks.credential_check(
                    credential=credential, actor=None, now=timezone.now()
                )
            except checks.LiveCheckUnavailable as exc:
                skipped += 1
                self.stdout.write(f"  {name} ····{credential.hint}: not checked ({exc})")
                continue
            counts[CheckStatus(check.status)] += 1
            self.stdout.write(f"  {name} ····{credential.hint}: {check.message}")
        self.stdout.write(
            f"{counts[CheckStatus.VALID]} valid, {counts[CheckStatus.REJECTED]} rejected, "
            f"{counts[CheckStatus.UNREACHABLE]} unreachable, {skipped} not checked."
        )
        if counts[CheckStatus.REJECTED]:
            raise SystemExit(1)
