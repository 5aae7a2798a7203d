"""Re-entering the password before a reveal: one audit event per refused attempt, while failed
sign-ins stay audited and django-axes throttles both."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential
from tests.factories import NOW, PASSWORD, MakeCredential


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _reveal(client: Client, credential: Credential, password: str) -> Any:
    url = reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})
    return client.post(url, {"password": password})


def _new_actions(since: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(seq__gt=since).order_by("seq").values_list("action", flat=True)
    )


def _head() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_a_refused_reveal_writes_exactly_one_event(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    before = _head()

    response = _reveal(admin_client, credential, "not my password")

    assert response.status_code == 200
    assert _new_actions(before) == [AuditAction.CREDENTIAL_REVEAL_DENIED]
    event = AuditEvent.objects.get(seq__gt=before)
    assert event.details == {"reason": "wrong password", "hint": credential.hint}


def test_refused_reveals_up_to_the_lock_out_are_one_event_each_and_no_failed_sign_in(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    before = _head()

    statuses = [_reveal(admin_client, credential, "guess").status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 429, 429]  # django-axes still throttles
    assert _new_actions(before) == [AuditAction.CREDENTIAL_REVEAL_DENIED] * 6
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).exists()


def test_a_right_password_at_the_reveal_is_one_reveal_event(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    before = _head()

    assert _reveal(admin_client, credential, PASSWORD).status_code == 200

    assert _new_actions(before) == [AuditAction.CREDENTIAL_REVEALED]


def test_a_failed_sign_in_is_still_audited_once(client: Client, admin_user: Any) -> None:
    before = _head()

    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert _new_actions(before) == [AuditAction.LOGIN_FAILED]
    event = AuditEvent.objects.get(seq__gt=before)
    assert event.actor_label == "alice" and event.details == {"username": "alice"}


def test_failed_sign_ins_still_lock_the_account(client: Client, admin_user: Any) -> None:
    before = _head()
    for _ in range(5):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    locked = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert locked.status_code == 429
    assert _new_actions(before).count(AuditAction.LOGIN_FAILED) >= 5
    assert AuditAction.LOGIN not in _new_actions(before)
