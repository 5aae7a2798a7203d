"""``/healthz``: is keyvault able to send reminders? For load balancers and monitoring.

No login: anyone gets ``{"status": "ok"}`` (200) or ``{"status": "degraded"}`` (503). The
details (database, broker, last scan, reminder counts) go only to a caller presenting
``KEYVAULT_METRICS_TOKEN`` as a bearer token, or to a signed-in admin or auditor: they tell
what keyvault runs on. Even then they name components and exception types, never a host, URL
or message. 200 when the database and broker answer and the reminder scan is fresh.

"Fresh": the last scan is at most ``KEYVAULT_SCAN_STALE_PERIODS`` (3) scan periods old. A scan
that never ran counts as fresh during the same grace after this web process started (the
scheduler may start after the web), and as stale after it: a scheduler that never started is as
broken as one that stopped. Beat runs a first scan as soon as it starts.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from alerts.selectors import scan_health
from keyvault.web.requestinfo import bearer_matches
from keyvault.web.roles import is_viewer

BROKER_TIMEOUT_SECONDS = 2.0


def database_check() -> dict[str, Any]:
    """``{"ok": True}`` when a trivial query succeeds, else the exception's type."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def broker_check(*, timeout: float = BROKER_TIMEOUT_SECONDS) -> dict[str, Any]:
    """``{"ok": True}`` when the Celery broker accepts a connection (Redis: answers PING; the
    filesystem broker: its queue folder is writable), else the exception's type."""
    from keyvault.celery import app

    transport = ""
    try:
        with app.connection_for_write() as conn:
            transport = conn.transport_cls if isinstance(conn.transport_cls, str) else ""
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
            folder = conn.transport_options.get("data_folder_in")
            if folder and not os.access(folder, os.W_OK):
                return {"ok": False, "transport": transport, "error": "queue folder not writable"}
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": type(exc).__name__}
    return {"ok": True, "transport": transport}


def health_report(*, now: datetime, started_at: datetime | None = None) -> dict[str, Any]:
    """The /healthz document; ``healthy`` says whether every part is."""
    database = database_check()
    broker = broker_check()
    if database["ok"]:
        health = scan_health(now=now, started_at=started_at)
        last_scan: dict[str, Any] = {
            "ok": not health.stale,
            "at": health.last_scan_at.isoformat() if health.last_scan_at else None,
            "age_seconds": int(health.age.total_seconds()) if health.age is not None else None,
            "max_age_seconds": int(health.max_age.total_seconds()),
            "stale": health.stale,
            "queued": health.last_queued,
            "failed_reminders": health.failed_count,
        }
    else:
        last_scan = {"ok": False, "error": "database unreachable"}
    healthy = bool(database["ok"] and broker["ok"] and last_scan["ok"])
    return {
        "status": "ok" if healthy else "degraded",
        "healthy": healthy,
        "database": database,
        "broker": broker,
        "last_scan": last_scan,
    }


def may_see_details(request: HttpRequest) -> bool:
    """True for the metrics bearer token (compared in constant time) or an admin or auditor."""
    if bearer_matches(request, settings.KEYVAULT_METRICS_TOKEN):
        return True
    return is_viewer(getattr(request, "user", None))


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 otherwise; the whole report only for ``may_see_details``."""
    report = health_report(now=timezone.now())
    body = report if may_see_details(request) else {"status": report["status"]}
    response = JsonResponse(body, status=200 if report["healthy"] else 503)
    response["Vary"] = "Authorization, Cookie"
    return response
