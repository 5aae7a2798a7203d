"""The daily live check end to end with real processes: celery beat hands the check to a
worker, the worker asks a real SCIM server (scim2-server over HTTPS on 127.0.0.1), and a key
the vendor rejects reaches Slack (the stub) once, through the notice outbox.

Beat runs the check every second here, so "daily" comes round several times in a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from alerts.models import Notice, NoticeKind, ReminderStatus
from keyvault.vault.check_models import CheckStatus, CredentialCheck
from tests.factories import MakeCredential, new_token
from tests.integration.conftest import Celery, RedisServer, wait_until
from tests.scim_server import ScimServer
from tests.stubs import SlackStub

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_daily_check_alerts_slack_once_for_a_key_the_vendor_rejects(
    redis_server: RedisServer,  # before celery: stopped after the processes that use it
    scim: ScimServer,  # the same
    celery: Celery,
    channels: Callable[..., None],
    make_credential: MakeCredential,
    slack: SlackStub,
) -> None:
    channels()
    dead = new_token()
    good, _ = make_credential(
        name="Directory — acme", provider="generic_scim", scim_url=scim.base_url, token=scim.token
    )
    bad, _ = make_credential(
        name="Directory — beta", provider="generic_scim", scim_url=scim.base_url, token=dead
    )
    env = {
        "CELERY_BROKER_URL": redis_server.url,
        "KEYVAULT_CHECK_INTERVAL_SECONDS": "1",
        "KEYVAULT_CHECK_ALLOW_LOOPBACK": "1",
        "KEYVAULT_CHECK_CA_FILE": scim.ca_file,
    }

    celery.worker(**env)
    celery.beat(**env)

    slack.wait_for_requests(1, timeout=30)
    wait_until(
        lambda: CredentialCheck.objects.filter(credential=bad).count() >= 3,
        timeout=30,
        what="three rounds of the daily check",
    )
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.check_status, bad.check_status) == (CheckStatus.VALID, CheckStatus.REJECTED)
    assert len(slack.requests) == 1
    message = slack.requests[0].json["text"]
    assert "Directory — beta" in message and dead not in message
    logs = celery.logs()
    assert "check_credential" in logs
    assert dead not in logs and scim.token not in logs  # tasks carry ids, never the key
    notice: Any = Notice.objects.get(kind=NoticeKind.CHECK_REJECTED)
    assert (notice.credential_id, notice.status) == (bad.pk, ReminderStatus.SENT)
