"""/metrics: Prometheus exposition behind the metrics bearer token, values from the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Reminder, ReminderStatus, ScanHeartbeat
from keyvault.models import Credential, CredentialState
from keyvault.rotation.services import credential_revoke
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, email_channel_make, reminder_make

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.KEYVAULT_METRICS_TOKEN = TOKEN


def _scrape() -> dict[str, Any]:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def _samples(family: Any) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def test_metrics_are_not_found_while_no_token_is_configured(db: Any, settings: Any) -> None:
    settings.KEYVAULT_METRICS_TOKEN = ""

    assert Client().get("/metrics").status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer ").get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer "])
def test_metrics_without_the_right_token_are_unauthorised(
    db: Any, metrics_on: None, admin_client: Client, header: str | None
) -> None:
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()

    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    # A signed-in admin's session is no bearer token either.
    assert admin_client.get("/metrics").status_code == 401


def test_expiry_timestamps_match_the_current_credentials(
    metrics_on: None, make_credential: MakeCredential, admin_user: Any
) -> None:
    acme, _ = make_credential(
        name="Atlassian — acme",
        owner="Dana Ops",
        identity_provider="entra_id",
        expires_at=datetime(2026, 9, 1, 9, tzinfo=UTC),
    )
    gone, _ = make_credential(name="Revoked one")
    credential_revoke(credential=gone, reason="gone", actor=admin_user, now=NOW)

    families = _scrape()

    expiry = families["keyvault_credential_expiration_timestamp_seconds"]
    assert expiry.type == "gauge"
    assert _samples(expiry) == {
        (
            ("identity_provider", "entra_id"),
            ("integration", "Atlassian — acme"),
            ("owner", "Dana Ops"),
            ("provider", "atlassian"),
        ): acme.expires_at.timestamp()
    }
    current = Credential.objects.filter(state=CredentialState.CURRENT).count()
    assert len(expiry.samples) == current


def test_check_status_is_one_series_per_current_credential_labelled_with_the_last_result(
    metrics_on: None, make_credential: MakeCredential, admin_user: Any
) -> None:
    results = {"Valid one": "valid", "Rejected one": "rejected", "Unreachable one": "unreachable"}
    for name, status in results.items():
        credential, _ = make_credential(name=name)
        Credential.objects.filter(pk=credential.pk).update(check_status=status, checked_at=NOW)
    make_credential(name="Never checked")
    gone, _ = make_credential(name="Revoked one")
    Credential.objects.filter(pk=gone.pk).update(check_status="rejected", checked_at=NOW)
    credential_revoke(credential=gone, reason="gone", actor=admin_user, now=NOW)

    families = _scrape()

    check = families["keyvault_credential_check_status"]
    assert check.type == "gauge"
    by_integration = {s.labels["integration"]: (s.labels["status"], s.value) for s in check.samples}
    database = {
        name: (status or "unchecked", 1.0)
        for name, status in Credential.objects.filter(state=CredentialState.CURRENT).values_list(
            "integration__name", "check_status"
        )
    }
    assert by_integration == database
    assert by_integration == {
        "Valid one": ("valid", 1.0),
        "Rejected one": ("rejected", 1.0),
        "Unreachable one": ("unreachable", 1.0),
        "Never checked": ("unchecked", 1.0),
    }
    # The same identifying labels as the expiry, so the two join in PromQL.
    (rejected,) = [s for s in check.samples if s.labels["status"] == "rejected"]
    expiry = families["keyvault_credential_expiration_timestamp_seconds"]
    (expires,) = [s for s in expiry.samples if s.labels["integration"] == "Rejected one"]
    assert {k: v for k, v in rejected.labels.items() if k != "status"} == expires.labels


def test_reminders_by_status_scan_heartbeat_and_delivery_failures_match_the_database(
    metrics_on: None, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(name="Reminded")
    channel = email_channel_make(name="Ops mail", recipients="ops@example.com")
    reminder_make(credential=credential, channel=channel, threshold=30, status="sent")
    reminder_make(credential=credential, channel=channel, threshold=14, status="failed")
    reminder_make(
        credential=credential,
        channel=channel,
        threshold=7,
        status="pending",
        attempts=2,
        last_error="SMTP said 451",
    )
    ScanHeartbeat.objects.update_or_create(pk=1, defaults={"last_scan_at": NOW, "last_queued": 1})

    families = _scrape()

    by_status = {s.labels["status"]: s.value for s in families["keyvault_reminders"].samples}
    for status in ReminderStatus.values:
        assert by_status[status] == Reminder.objects.filter(status=status).count()
    assert families["keyvault_last_scan_timestamp_seconds"].samples[0].value == NOW.timestamp()
    failures = _samples(families["keyvault_delivery_failures"])
    retrying = _samples(families["keyvault_delivery_retrying"])
    key = (("channel", "Ops mail"), ("kind", "email"))
    assert failures[key] == 1
    assert retrying[key] == 1


def test_no_secret_reaches_the_exposition(
    metrics_on: None, make_credential: MakeCredential
) -> None:
    credential, token = make_credential(name="Secretive")

    text = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").get("/metrics").content.decode()

    assert token not in text and ATLASSIAN_URL not in text
    assert str(credential.fingerprint)[:16] not in text


def test_the_scrape_runs_the_same_queries_for_one_or_many_credentials(
    metrics_on: None, make_credential: MakeCredential
) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    make_credential(name="One")
    with CaptureQueriesContext(connection) as one:
        client.get("/metrics")
    for n in range(5):
        make_credential(name=f"More {n}")
    with CaptureQueriesContext(connection) as many:
        client.get("/metrics")

    assert len(one) == len(many)


def test_label_values_with_quotes_and_backslashes_read_back_unchanged(
    metrics_on: None, make_credential: MakeCredential
) -> None:
    name = 'Acme "prod" \\ eu'
    make_credential(name=name, owner='Ops "A" team')

    families = _scrape()

    (sample,) = families["keyvault_credential_expiration_timestamp_seconds"].samples
    assert (sample.labels["integration"], sample.labels["owner"]) == (name, 'Ops "A" team')
