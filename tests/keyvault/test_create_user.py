"""``manage.py create_user`` and ``unlock_user``: accounts from the shell, audited, and working
from a plain shell the way the README says."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent
from tests.factories import NOW
from tests.keyvault.test_startup import manage

NEW_PASSWORD = "a-long-new-password-2026"


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _run(*args: str) -> str:
    out = StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


def test_create_user_prints_a_set_password_link_that_signs_the_user_in_with_the_role(
    db: Any,
) -> None:
    output = _run("bob", "--role", "auditor", "--email", "bob@example.com")

    link = re.search(r"http://127\.0\.0\.1:8000(/invite/\?t=\S+)", output)
    assert link, output
    client = Client()
    client.post(link.group(1), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert (
        client.post(
            reverse("account_login"), {"login": "bob", "password": NEW_PASSWORD}
        ).status_code
        == 302
    )
    assert client.get(reverse("keyvault:dashboard")).status_code == 200
    assert client.get(reverse("keyvault:integration_create")).status_code == 403
    (event,) = AuditEvent.objects.filter(action=AuditAction.USER_INVITED)
    assert event.actor_label == "manage.py create_user" and event.actor_id is None
    assert event.details == {"username": "bob", "email": "bob@example.com", "role": "auditor"}


def test_create_user_with_password_now_prints_a_password_that_works_at_once(db: Any) -> None:
    output = _run("root2", "--role", "admin", "--password-now")

    password = re.search(r"with password (\S+)", output)
    assert password, output
    client = Client()
    assert (
        client.post(
            reverse("account_login"), {"login": "root2", "password": password.group(1)}
        ).status_code
        == 302
    )
    assert client.get(reverse("keyvault:user_list")).status_code == 200
    (event,) = AuditEvent.objects.filter(action=AuditAction.USER_CREATED)
    assert event.details["role"] == "admin"
    assert password.group(1) not in str(event.details)


def test_create_user_refuses_a_taken_username(db: Any) -> None:
    _run("bob", "--role", "auditor")

    with pytest.raises(CommandError, match="exists already"):
        _run("bob", "--role", "admin")

    assert get_user_model().objects.filter(username="bob").count() == 1


def test_create_user_refuses_an_unknown_role(db: Any) -> None:
    with pytest.raises(CommandError):
        _run("bob", "--role", "owner")


def test_unlock_user_clears_a_sign_in_lock_out(db: Any) -> None:
    _run("bob", "--role", "auditor", "--password-now")
    for _ in range(5):
        Client().post(reverse("account_login"), {"login": "bob", "password": "wrong"})
    out = StringIO()

    call_command("unlock_user", "bob", stdout=out)

    assert "Unlocked bob." in out.getvalue()
    (event,) = AuditEvent.objects.filter(action=AuditAction.USER_UNLOCKED)
    assert event.actor_label == "manage.py unlock_user"


def test_create_user_works_from_a_plain_shell_with_debug_on(tmp_path: Path) -> None:
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert manage(tmp_path, "migrate", "-v", "0", **env).returncode == 0

    result = manage(tmp_path, "create_user", "bob", "--role", "auditor", **env)

    assert result.returncode == 0, result.stderr
    assert "/invite/?t=" in result.stdout


def test_the_first_admin_made_by_ensure_admin_is_audited(db: Any) -> None:
    call_command("ensure_admin", stdout=StringIO())

    (event,) = AuditEvent.objects.filter(action=AuditAction.USER_CREATED)
    assert event.actor_label == "manage.py ensure_admin"
    assert event.details == {"username": "admin", "email": "", "role": "admin"}
    assert event.target_id == str(get_user_model().objects.get().pk)
