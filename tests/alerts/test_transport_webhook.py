"""The signed webhook transport against a real local receiver on 127.0.0.1 (tests/stubs.py),
verified with the ``standardwebhooks`` package the way a receiver would verify it."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import timedelta
from email.utils import formatdate
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from alerts.channels import signing_secret_generate
from alerts.messages import reminder_notification, rotate_url, test_notification
from alerts.models import Reminder
from alerts.transports import Notification, TransportError, transport_for
from alerts.transports.webhook import WebhookTransport
from tests.factories import (
    ATLASSIAN_URL,
    NOW,
    MakeCredential,
    reminder_make,
    webhook_channel_make,
)
from tests.stubs import RecordedRequest, SlackStub

PATH_SECRET = "rEcEiVeRpAtHsEcReT0123456789"
HOOK_PATH = f"/hooks/keyvault/{PATH_SECRET}"


@pytest.fixture
def receiver(slack: SlackStub) -> SlackStub:
    """The local HTTP stub playing a Standard Webhooks receiver."""
    return slack


@pytest.fixture
def signing_secret() -> str:
    return signing_secret_generate()


@pytest.fixture
def reminder(make_credential: MakeCredential, receiver: SlackStub, signing_secret: str) -> Reminder:
    credential, _ = make_credential(
        name="Atlassian Cloud — acme (Okta SCIM)",
        expires_at=NOW + timedelta(days=7),
        owner="Dana Ops",
        owner_email="dana@example.com",
    )
    channel, _ = webhook_channel_make(
        url=receiver.webhook_url(HOOK_PATH), signing_secret=signing_secret
    )
    return reminder_make(credential=credential, channel=channel, threshold=7)


@pytest.fixture
def notification(reminder: Reminder) -> Notification:
    return reminder_notification(reminder=reminder, now=NOW)


def transport(receiver: SlackStub, secret: str, **kwargs: Any) -> WebhookTransport:
    return WebhookTransport(url=receiver.webhook_url(HOOK_PATH), signing_secret=secret, **kwargs)


def verify(request: RecordedRequest, secret: str) -> Any:
    """What a receiver does: check the signature over the raw body, get the event."""
    return Webhook(secret).verify(request.body, request.headers)


def header(request: RecordedRequest, name: str) -> str:
    """A request header, by name in any case (HTTP header names are case-insensitive)."""
    return {k.lower(): v for k, v in request.headers.items()}[name]


def send_expecting_error(sender: WebhookTransport, notification: Notification) -> TransportError:
    with pytest.raises(TransportError) as info:
        sender.send(notification)
    assert PATH_SECRET not in str(info.value)
    return info.value


def test_webhook_event_verifies_with_the_signing_secret(
    receiver: SlackStub, reminder: Reminder, notification: Notification, signing_secret: str
) -> None:
    transport_for(reminder.channel, integration=reminder.credential.integration).send(notification)

    [request] = receiver.requests
    assert request.path == HOOK_PATH
    assert request.headers["Content-Type"].startswith("application/json")
    event = verify(request, signing_secret)
    assert event == request.json
    assert header(request, "webhook-id") == reminder.idempotency_key
    assert abs(int(header(request, "webhook-timestamp")) - time.time()) < 30
    assert header(request, "webhook-signature").startswith("v1,")


def test_webhook_event_fails_verification_with_another_secret(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    transport(receiver, signing_secret).send(notification)

    with pytest.raises(WebhookVerificationError):
        verify(receiver.requests[0], signing_secret_generate())


def test_webhook_event_with_an_altered_body_fails_verification(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    transport(receiver, signing_secret).send(notification)
    request = receiver.requests[0]
    altered = request.body.replace(b'"threshold":7', b'"threshold":0')
    assert altered != request.body

    with pytest.raises(WebhookVerificationError):
        Webhook(signing_secret).verify(altered, request.headers)


def test_webhook_event_follows_schema_version_1(
    receiver: SlackStub, reminder: Reminder, notification: Notification, signing_secret: str
) -> None:
    transport(receiver, signing_secret).send(notification)

    event = receiver.requests[0].json
    credential = reminder.credential
    integration = credential.integration
    assert event == {
        "type": "keyvault.reminder",
        "version": 1,
        "idempotency_key": reminder.idempotency_key,
        "created_at": "2026-03-01T09:00:00Z",
        "summary": "Atlassian Cloud — acme (Okta SCIM): credential expires in 7 days",
        "threshold": 7,
        "integration": {
            "id": str(integration.pk),
            "name": "Atlassian Cloud — acme (Okta SCIM)",
            "provider": "atlassian",
            "provider_name": "Atlassian (SCIM API key)",
            "identity_provider": integration.identity_provider,
            "identity_provider_name": integration.get_identity_provider_display(),
            "owner": "Dana Ops",
            "owner_email": "dana@example.com",
            "url": settings.SITE_URL
            + reverse("keyvault:integration_detail", kwargs={"integration_id": integration.pk}),
        },
        "credential": {
            "id": str(credential.pk),
            "hint": credential.hint,
            "state": "current",
            "issued_at": "2026-03-01T09:00:00Z",
            "expires_at": "2026-03-08T09:00:00Z",
            "days_left": 7,
            "expired": False,
        },
        "rotate_url": rotate_url(integration),
    }


def test_webhook_event_of_an_expired_credential_has_negative_days_left(
    receiver: SlackStub, reminder: Reminder, signing_secret: str
) -> None:
    later = NOW + timedelta(days=10)
    transport(receiver, signing_secret).send(reminder_notification(reminder=reminder, now=later))

    credential = receiver.requests[0].json["credential"]
    assert credential["days_left"] == -3
    assert credential["expired"] is True


def test_webhook_id_is_the_same_on_a_retry_and_each_attempt_verifies(
    receiver: SlackStub, reminder: Reminder, notification: Notification, signing_secret: str
) -> None:
    receiver.script((503, {}, "busy"), (200, {}, ""))
    sender = transport(receiver, signing_secret)

    error = send_expecting_error(sender, notification)
    assert not error.permanent
    sender.send(reminder_notification(reminder=reminder, now=NOW + timedelta(minutes=2)))

    first, second = receiver.requests
    assert header(first, "webhook-id") == header(second, "webhook-id") == reminder.idempotency_key
    assert verify(first, signing_secret)["idempotency_key"] == reminder.idempotency_key
    assert verify(second, signing_secret)["idempotency_key"] == reminder.idempotency_key


def test_webhook_test_event_has_its_own_type_and_a_fresh_id(
    receiver: SlackStub, reminder: Reminder, signing_secret: str
) -> None:
    sender = transport(receiver, signing_secret)
    sender.send(test_notification(channel=reminder.channel, now=NOW))
    sender.send(test_notification(channel=reminder.channel, now=NOW))

    first, second = receiver.requests
    event = verify(first, signing_secret)
    assert event["type"] == "keyvault.test"
    assert event["version"] == 1
    assert event["channel"]["name"] == "SIEM webhook"
    assert header(first, "webhook-id").startswith("kvt_")
    assert header(first, "webhook-id") != header(second, "webhook-id")


def test_webhook_429_is_transient_with_retry_after_seconds(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    receiver.script((429, {"Retry-After": "30"}, "slow down"))

    error = send_expecting_error(transport(receiver, signing_secret), notification)

    assert not error.permanent
    assert error.retry_after == 30
    assert "429" in error.message


def test_webhook_429_with_retry_after_as_http_date_is_transient(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    receiver.script((429, {"Retry-After": formatdate(time.time() + 60, usegmt=True)}))

    error = send_expecting_error(transport(receiver, signing_secret), notification)

    assert not error.permanent
    assert error.retry_after is not None and 50 <= error.retry_after <= 60


@pytest.mark.parametrize("status", [500, 502, 503])
def test_webhook_server_errors_are_transient(
    receiver: SlackStub, notification: Notification, signing_secret: str, status: int
) -> None:
    receiver.script((status, {}, "oops"))

    error = send_expecting_error(transport(receiver, signing_secret), notification)

    assert not error.permanent
    assert str(status) in error.message


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 302])
def test_webhook_client_errors_and_redirects_are_permanent(
    receiver: SlackStub, notification: Notification, signing_secret: str, status: int
) -> None:
    receiver.script((status, {"Location": "https://elsewhere.example.com/"}, "no"))

    error = send_expecting_error(transport(receiver, signing_secret), notification)

    assert error.permanent
    assert str(status) in error.message
    assert len(receiver.requests) == 1


def test_webhook_timeout_is_transient(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    receiver.hold()

    error = send_expecting_error(transport(receiver, signing_secret, timeout=1), notification)

    assert not error.permanent
    assert "timed out" in error.message


def test_webhook_connection_refused_is_transient(
    notification: Notification, signing_secret: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = WebhookTransport(
        url=f"http://127.0.0.1:{port}{HOOK_PATH}", signing_secret=signing_secret, timeout=1
    )

    error = send_expecting_error(sender, notification)

    assert not error.permanent
    assert "connect" in error.message


def test_webhook_error_echoing_the_url_or_the_secret_is_redacted(
    receiver: SlackStub, notification: Notification, signing_secret: str
) -> None:
    bare = signing_secret.removeprefix("whsec_")
    receiver.script((400, {}, f"bad request to {HOOK_PATH} signed with {bare}"))

    error = send_expecting_error(transport(receiver, signing_secret), notification)

    assert "[redacted]" in error.message
    assert bare not in error.message


def test_webhook_body_and_logs_carry_no_secret(
    receiver: SlackStub,
    make_credential: MakeCredential,
    signing_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    credential, token = make_credential(expires_at=NOW + timedelta(days=3))
    channel, _ = webhook_channel_make(
        url=receiver.webhook_url(HOOK_PATH), signing_secret=signing_secret
    )
    reminder = reminder_make(credential=credential, channel=channel, threshold=3)

    transport_for(channel, integration=credential.integration).send(
        reminder_notification(reminder=reminder, now=NOW)
    )

    request = receiver.requests[0]
    shown = request.text + json.dumps(request.headers) + caplog.text
    secrets = (token, ATLASSIAN_URL, ATLASSIAN_URL.rsplit("/", 1)[-1], PATH_SECRET)
    for secret in (*secrets, signing_secret, signing_secret.removeprefix("whsec_")):
        assert secret not in shown
    assert credential.fingerprint[:12] not in shown
    assert PATH_SECRET not in repr(transport_for(channel, integration=None))


def test_an_unusable_signing_secret_is_permanent(
    receiver: SlackStub, notification: Notification
) -> None:
    error = send_expecting_error(transport(receiver, "whsec_"), notification)

    assert error.permanent
    assert receiver.requests == []


def test_generated_signing_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    import base64

    first, second = signing_secret_generate(), signing_secret_generate()

    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
