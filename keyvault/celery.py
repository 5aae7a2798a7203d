"""The Celery application: configuration comes from Django settings (``CELERY_*``).

Tasks are discovered in each app's ``tasks`` module. Beat runs one reminder scan as soon as it
starts (then one every ``KEYVAULT_SCAN_INTERVAL_SECONDS``), so a fresh start does not wait a
whole period for its first scan and heartbeat.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyvault.settings")

logger = logging.getLogger(__name__)

app = Celery("keyvault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SCAN_TASK = "alerts.tasks.scan_reminders"


@beat_init.connect
def _scan_when_beat_starts(sender: Any, **kwargs: Any) -> None:
    try:
        app.send_task(SCAN_TASK)
    except Exception as exc:  # broker down: the schedule tries again every period
        logger.warning("first reminder scan not queued (%s)", type(exc).__name__)
