"""Re-entering the password before a reveal: one audit event per refused attempt, counted
towards the user's own reveal limit ("N attempts left"), while failed sign-ins stay audited and
throttled by django-axes — and a wrong password at Reveal never locks anyone out of sign-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from keyvault.accounts.services import user_create
from keyvault.models import AuditAction, AuditEvent, Credential, Role
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


def test_refused_reveals_up_to_the_limit_are_one_event_each_and_no_failed_sign_in(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    before = _head()

    statuses = [_reveal(admin_client, credential, "guess").status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]  # the sixth is refused unchecked
    assert _new_actions(before) == [AuditAction.CREDENTIAL_REVEAL_DENIED] * 6
    reasons = [
        event.details["reason"]
        for event in AuditEvent.objects.filter(seq__gt=before).order_by("seq")
    ]
    assert reasons == ["wrong password"] * 5 + ["too many attempts"]
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).exists()
    assert not AccessAttempt.objects.exists()  # nothing towards the sign-in lock-out


def test_each_wrong_password_says_how_many_attempts_are_left(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()

    pages = [_reveal(admin_client, credential, "guess").content.decode() for _ in range(5)]

    expected = ["4 attempts left", "3 attempts left", "2 attempts left", "1 attempt left"]
    for page, left in zip(pages[:4], expected, strict=True):
        assert left in page
    assert "Reveal is paused for you" in pages[4]


def test_a_paused_reveal_refuses_even_the_right_password(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(5):
        _reveal(admin_client, credential, "guess")

    response = _reveal(admin_client, credential, PASSWORD)

    assert response.status_code == 429
    assert 'id="revealed-token"' not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).exists()


def test_a_paused_reveal_does_not_stop_the_admin_signing_in(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(6):
        _reveal(admin_client, credential, "guess")

    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert fresh.get(reverse("keyvault:dashboard")).status_code == 200


def test_the_reveal_limit_lifts_after_the_cool_off(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(5):
        _reveal(admin_client, credential, "guess")

    with time_machine.travel(NOW + timedelta(minutes=16), tick=False):
        response = _reveal(admin_client, credential, PASSWORD)

    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).count() == 1


def test_a_successful_reveal_starts_the_count_again(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(4):
        _reveal(admin_client, credential, "guess")
    _reveal(admin_client, credential, PASSWORD)

    page = _reveal(admin_client, credential, "guess").content.decode()

    assert "4 attempts left" in page


def test_another_admin_unlocks_a_paused_reveal_from_the_users_page(
    admin_client: Client, admin_user: Any, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(5):
        _reveal(admin_client, credential, "guess")
    other = Client()
    other.force_login(user_create(username="dave", password=PASSWORD, role=Role.ADMIN))
    detail = other.get(reverse("keyvault:user_detail", kwargs={"username": "alice"}))
    assert "Paused" in detail.content.decode()

    response = other.post(reverse("keyvault:user_unlock", kwargs={"username": "alice"}))

    assert response.status_code == 302
    unlocked = AuditEvent.objects.get(action=AuditAction.USER_UNLOCKED)
    assert unlocked.actor_label == "dave" and unlocked.target_id == str(admin_user.pk)
    assert unlocked.details == {"username": "alice", "sign_in_attempts": 0, "reveal_failures": 5}
    assert _reveal(admin_client, credential, PASSWORD).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEALED).count() == 1


def test_an_admin_cannot_unlock_their_own_reveals(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    for _ in range(5):
        _reveal(admin_client, credential, "guess")

    response = admin_client.post(reverse("keyvault:user_unlock", kwargs={"username": "alice"}))

    assert response.status_code == 400
    assert "Another admin must unlock your account." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_UNLOCKED).exists()
    assert _reveal(admin_client, credential, PASSWORD).status_code == 429


def test_a_right_password_at_the_reveal_is_one_reveal_event(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    before = _head()

    assert _reveal(admin_client, credential, PASSWORD).status_code == 200

    assert _new_actions(before) == [AuditAction.CREDENTIAL_REVEALED]


def test_a_failed_sign_in_is_still_audited_once(client: Client, admin_user: Any) -> None:
    before = _head()

    response = client.post(reverse("account_login"), {"login": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert _new_actions(before) == [AuditAction.LOGIN_FAILED]
    event = AuditEvent.objects.get(seq__gt=before)
    assert event.actor_label == "alice" and event.details == {"username": "alice"}


def test_failed_sign_ins_still_lock_the_account(client: Client, admin_user: Any) -> None:
    before = _head()
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "alice", "password": "wrong"})

    locked = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})

    assert locked.status_code == 429
    assert _new_actions(before).count(AuditAction.LOGIN_FAILED) >= 5
    assert AuditAction.LOGIN not in _new_actions(before)
