"""Fixtures shared by the reminder outbox tests (scan, delivery, healthz, integration).

Import the fixtures into a test module (``from tests.alerts.outbox_helpers import ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from alerts.models import Channel, Reminder, ReminderStatus
from keyvault.models import Credential
from tests.factories import NOW, MakeCredential, email_channel_make, slack_channel_make
from tests.stubs import SlackStub

#: The part of a Slack webhook URL that is the secret; must never leave the database in clear.
WEBHOOK_SECRET = "wEbHoOkSeCrEt" + "0123456789ab"


@pytest.fixture
def no_channels(db: Any) -> None:
    """Start without the built-in owners' channel, so each test lists the channels it uses."""
    Channel.objects.all().delete()


@pytest.fixture
def email_channel(no_channels: None) -> Channel:
    return email_channel_make(name="IT ops (email)", recipients="it-ops@example.com")


@pytest.fixture
def slack_channel(no_channels: None, slack: SlackStub) -> Channel:
    return slack_channel_make(
        name="#it-ops", url=slack.webhook_url(f"/services/T0KV/B0KV/{WEBHOOK_SECRET}")
    )


DueFactory = Callable[..., tuple[Credential, str]]


@pytest.fixture
def due_credential(make_credential: MakeCredential) -> DueFactory:
    """``due_credential(days=7)``: a current credential expiring ``days`` after ``now``
    (default: the suite's NOW), issued a year before it expires. Returns (credential, token)."""

    def make(*, days: float, now: datetime = NOW, **fields: Any) -> tuple[Credential, str]:
        expires_at = now + timedelta(days=days)
        return make_credential(
            expires_at=expires_at,
            issued_at=expires_at - timedelta(days=365),
            now=now,
            **fields,
        )

    return make


def rows(credential: Credential) -> dict[int, str]:
    """{threshold: status} of a credential's reminders (one channel)."""
    return dict(Reminder.objects.filter(credential=credential).values_list("threshold", "status"))


def pending_ids() -> list[int]:
    return list(
        Reminder.objects.filter(status=ReminderStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )


__all__ = [
    "WEBHOOK_SECRET",
    "DueFactory",
    "database_url_for_subprocess",
    "due_credential",
    "email_channel",
    "free_port",
    "no_channels",
    "pending_ids",
    "rows",
    "slack_channel",
]


def database_url_for_subprocess() -> str:
    """A ``DATABASE_URL`` naming the database this test runs on (the test database), for
    processes started by the test (worker, beat, a one-off ``manage.py``)."""
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    auth = params["USER"] or ""
    if params.get("PASSWORD"):
        auth += f":{params['PASSWORD']}"
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{params['NAME']}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
