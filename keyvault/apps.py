from __future__ import annotations

from django.apps import AppConfig


class KeyvaultConfig(AppConfig):
    name = "keyvault"
    verbose_name = "keyvault"

    def ready(self) -> None:
        from keyvault import checks, signals  # noqa: F401  (registers receivers and checks)
