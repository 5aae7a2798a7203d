"""A change that can make a reminder due asks for a scan once it commits; an unreachable
broker never breaks the change itself. (That the requested scan delivers at once, with no
periodic scan running, is shown with a real worker in tests/integration.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from alerts.channels import ChannelInput, channel_create, channel_update
from alerts.scan import reminders_scan_request
from keyvault.models import Integration
from keyvault.rotation.services import credential_rotate, rotation_secret_clean
from keyvault.vault.services import integration_update
from tests.alerts.outbox_helpers import database_url_for_subprocess, free_port
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token

ROOT = Path(__file__).resolve().parents[2]


def test_pasting_a_key_asks_for_a_scan_when_it_commits(
    make_credential: MakeCredential, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        make_credential()

    assert callbacks.count(reminders_scan_request) == 1


def test_rotating_asks_for_a_scan(
    make_credential: MakeCredential, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old, _ = make_credential()
    secret = rotation_secret_clean(
        credential=old, scim_url=ATLASSIAN_URL, token=new_token(), expires_at=None, now=NOW
    )

    with django_capture_on_commit_callbacks() as callbacks:
        credential_rotate(credential=old, secret=secret, actor=admin_user, now=NOW)

    assert reminders_scan_request in callbacks


@pytest.mark.parametrize(
    ("change", "asks"),
    [
        ({"reminder_thresholds": "5,2"}, True),
        ({"owner_email": "o@example.com"}, True),
        ({"notes": "moved to the new tenant"}, False),
    ],
)
def test_editing_reminder_settings_asks_for_a_scan_and_other_edits_do_not(
    make_credential: MakeCredential,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
    change: dict[str, str],
    asks: bool,
) -> None:
    integration = make_credential()[0].integration

    with django_capture_on_commit_callbacks() as callbacks:
        integration_update(integration=integration, fields=change, actor=admin_user, now=NOW)

    assert (reminders_scan_request in callbacks) is asks


def test_adding_or_changing_a_channel_asks_for_a_scan(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    data = ChannelInput(name="ops mail", email_recipients="ops@example.com")
    with django_capture_on_commit_callbacks() as created:
        channel = channel_create(kind="email", data=data, actor=admin_user, now=NOW)
    with django_capture_on_commit_callbacks() as changed:
        channel_update(
            channel=channel,
            data=ChannelInput(name="ops mail", email_recipients="ops2@example.com"),
            actor=admin_user,
            now=NOW,
        )

    assert reminders_scan_request in created and reminders_scan_request in changed


def test_a_change_that_rolls_back_asks_for_nothing(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        # Refused (no token): nothing saved, nothing committed, no scan.
        admin_client.post(
            "/integrations/new/",
            {"name": "x", "provider": "atlassian", "identity_provider": "okta"},
        )

    assert reminders_scan_request not in callbacks
    assert not Integration.objects.exists()


@pytest.mark.django_db(transaction=True)  # the paste runs in another process
def test_a_paste_succeeds_when_the_broker_is_down() -> None:
    script = (
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from keyvault.accounts.services import user_create\n"
        "from keyvault.models import Role\n"
        "from tests.factories import credential_make\n"
        "admin = user_create(username='paster', password='p' * 20, role=Role.ADMIN)\n"
        "credential_make(actor=admin, name='Pasted while the broker is down',"
        " expires_at=timezone.now() + timedelta(days=2))\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "scan not requested" in done.stderr
    assert Integration.objects.filter(name="Pasted while the broker is down").exists()
