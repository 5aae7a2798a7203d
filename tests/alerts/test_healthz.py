"""``/healthz`` and the scheduler state the dashboard shows (heartbeat, stale flag, failures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from alerts.health import health_report
from alerts.models import Reminder, ReminderStatus, ScanHeartbeat
from alerts.scan import reminders_scan
from alerts.selectors import scan_health
from keyvault.accounts.services import user_create
from keyvault.models import CredentialState, Role
from tests.alerts.outbox_helpers import (
    WEBHOOK_SECRET,
    DueFactory,
    database_url_for_subprocess,
    due_credential,
    email_channel,
    free_port,
    no_channels,
    slack_channel,
)
from tests.factories import PASSWORD

__all__ = ["due_credential", "email_channel", "no_channels", "slack_channel"]

ROOT = Path(__file__).resolve().parents[2]


def period() -> timedelta:
    return timedelta(seconds=django_settings.KEYVAULT_SCAN_INTERVAL_SECONDS)


METRICS_TOKEN = "metrics-" + "t0ken" * 6


@pytest.fixture
def monitor(settings: Any) -> Client:
    """A client presenting the metrics token, as a monitoring system would."""
    settings.KEYVAULT_METRICS_TOKEN = METRICS_TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")


def heartbeat_at(when: Any) -> None:
    ScanHeartbeat.objects.update_or_create(pk=1, defaults={"last_scan_at": when})


def test_healthz_is_public_and_healthy_after_a_scan(db: Any, monitor: Client) -> None:
    reminders_scan(now=timezone.now(), enqueue=False)

    response = monitor.get("/healthz")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["last_scan"]["stale"] is False
    assert 0 <= body["last_scan"]["age_seconds"] < 60
    assert body["last_scan"]["max_age_seconds"] == 3 * period().total_seconds()
    assert "sessionid" not in response.cookies


def test_healthz_is_503_when_the_last_scan_is_older_than_three_periods(
    db: Any, monitor: Client
) -> None:
    heartbeat_at(timezone.now() - 3 * period() - timedelta(minutes=1))

    response = monitor.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["last_scan"]["stale"] is True
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True


def test_a_scan_just_under_three_periods_old_is_still_healthy(db: Any) -> None:
    heartbeat_at(timezone.now() - 3 * period() + timedelta(minutes=1))

    assert Client().get("/healthz").status_code == 200


def test_a_scan_that_never_ran_is_healthy_only_during_the_start_up_grace(db: Any) -> None:
    now = timezone.now()
    ScanHeartbeat.objects.all().delete()

    starting = health_report(now=now, started_at=now - timedelta(minutes=1))
    long_up = health_report(now=now, started_at=now - 3 * period() - timedelta(seconds=1))

    assert starting["healthy"] is True
    assert starting["last_scan"]["at"] is None
    assert long_up["healthy"] is False
    assert long_up["last_scan"]["stale"] is True


def test_healthz_accepts_only_get(db: Any) -> None:
    assert Client().post("/healthz").status_code == 405


def test_healthz_reveals_no_secret_or_location(
    slack_channel: Any, due_credential: DueFactory, monitor: Client
) -> None:
    _, token = due_credential(days=7)
    reminders_scan(now=timezone.now(), enqueue=False)

    text = monitor.get("/healthz").content.decode()

    for secret in (
        WEBHOOK_SECRET,
        token,
        django_settings.SECRET_KEY,
        str(django_settings.DATABASES["default"]["NAME"]),
        str(django_settings.VAR_DIR),
        "127.0.0.1",
    ):
        assert secret not in text


def _healthz_in_a_process(**env: str) -> tuple[int, dict[str, Any]]:
    """GET /healthz in a fresh process configured by ``env`` (a real unreachable server)."""
    script = (
        "import json, django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz', HTTP_HOST='localhost',"
        f" HTTP_AUTHORIZATION='Bearer {METRICS_TOKEN}')\n"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "KEYVAULT_METRICS_TOKEN": METRICS_TOKEN,
            **env,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    port = free_port()
    status, body = _healthz_in_a_process(
        DATABASE_URL=f"postgres://keyvault:dbpassword@127.0.0.1:{port}/keyvault"
    )

    assert status == 503
    assert body["database"]["ok"] is False
    assert body["database"]["error"] == "OperationalError"
    assert body["last_scan"]["ok"] is False
    assert "dbpassword" not in json.dumps(body) and str(port) not in json.dumps(body)


@pytest.mark.django_db(transaction=True)  # the process reads the test database
def test_healthz_is_503_when_the_broker_is_unreachable() -> None:
    port = free_port()
    status, body = _healthz_in_a_process(
        DATABASE_URL=database_url_for_subprocess(),
        CELERY_BROKER_URL=f"redis://:brokerpassword@127.0.0.1:{port}/0",
    )

    assert status == 503
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "transport": "redis", "error": "OperationalError"}
    assert "brokerpassword" not in json.dumps(body)


def test_anonymous_callers_get_the_status_alone(db: Any) -> None:
    reminders_scan(now=timezone.now(), enqueue=False)

    healthy = Client().get("/healthz")
    heartbeat_at(timezone.now() - 3 * period() - timedelta(minutes=1))
    degraded = Client().get("/healthz")

    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok"})
    assert (degraded.status_code, degraded.json()) == (503, {"status": "degraded"})


def test_a_wrong_metrics_token_gets_the_status_alone(db: Any, settings: Any) -> None:
    settings.KEYVAULT_METRICS_TOKEN = METRICS_TOKEN
    reminders_scan(now=timezone.now(), enqueue=False)

    for header in (f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", "Bearer "):
        response = Client(HTTP_AUTHORIZATION=header).get("/healthz")
        assert response.json() == {"status": "ok"}, header


def test_no_token_configured_means_no_bearer_access(db: Any, settings: Any) -> None:
    settings.KEYVAULT_METRICS_TOKEN = ""
    reminders_scan(now=timezone.now(), enqueue=False)

    response = Client(HTTP_AUTHORIZATION="Bearer ").get("/healthz")

    assert response.json() == {"status": "ok"}


def test_signed_in_admins_and_auditors_see_the_details(
    admin_client: Client, auditor_client: Client, db: Any
) -> None:
    reminders_scan(now=timezone.now(), enqueue=False)

    for client in (admin_client, auditor_client):
        body = client.get("/healthz").json()
        assert body["status"] == "ok"
        assert body["database"]["ok"] is True and "last_scan" in body


def test_a_signed_in_user_without_a_role_gets_the_status_alone(db: Any) -> None:
    user = user_create(username="norole", password=PASSWORD, role=Role.AUDITOR)
    user.groups.clear()
    client = Client()
    client.force_login(user)
    reminders_scan(now=timezone.now(), enqueue=False)

    assert client.get("/healthz").json() == {"status": "ok"}


def test_dashboard_state_counts_failed_reminders_of_current_credentials(
    due_credential: DueFactory, email_channel: Any
) -> None:
    now = timezone.now()
    due_credential(days=7, now=now)
    retired, _ = due_credential(days=7, now=now)
    reminders_scan(now=now - timedelta(minutes=30), enqueue=False)
    Reminder.objects.filter(threshold=7).update(status=ReminderStatus.FAILED)
    retired.state = CredentialState.SUPERSEDED
    retired.save(update_fields=["state"])

    health = scan_health(now=now)

    assert health.failed_count == 1
    assert health.age_minutes == 30
    assert health.stale is False
    assert health.last_queued == 2


def test_dashboard_state_turns_stale_past_three_periods(db: Any) -> None:
    now = timezone.now()
    heartbeat_at(now - 3 * period() - timedelta(seconds=1))

    assert scan_health(now=now).stale is True
    assert scan_health(now=now - timedelta(seconds=2)).stale is False
