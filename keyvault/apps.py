from __future__ import annotations

from django.apps import AppConfig


class KeyvaultConfig(AppConfig):
    name = "keyvault"
    verbose_name = "keyvault"

    def ready(self) -> None:
        # Registers the system checks and the sign-in audit receivers.
        from keyvault import checks  # noqa: F401
        from keyvault.audit import receivers  # noqa: F401
