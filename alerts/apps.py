from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from alerts import checks, receivers  # noqa: F401  (registers checks and receivers)
