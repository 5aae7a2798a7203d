"""Team access: invitations and set-password links, roles, deactivation, unlocking, the last
admin, and one's own account — every change audited (action, actor, target), never a secret."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from keyvault.accounts import selectors, services
from keyvault.accounts.services import user_create
from keyvault.models import AuditAction, AuditEvent, Role
from tests.factories import NOW, PASSWORD

NEW_PASSWORD = "a-long-new-password-2026"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _invite(client: Client, username: str = "bob", role: str = "auditor") -> Any:
    return client.post(
        reverse("keyvault:user_invite"),
        {"username": username, "email": f"{username}@example.com", "role": role},
    )


def _link_path(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/invite/\?t=[^\s<\"]+)", text)
    assert match, text
    return match.group(1)


def _emailed_link() -> str:
    assert len(mail.outbox) == 1
    return _link_path(mail.outbox[0].body)


def _set_password(path: str, password: str = NEW_PASSWORD) -> Any:
    return Client().post(path, {"new_password1": password, "new_password2": password})


def _sign_in(username: str, password: str) -> tuple[Client, Any]:
    client = Client()
    response = client.post(reverse("account_login"), {"login": username, "password": password})
    return client, response


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


# --- invitations ----------------------------------------------------------------------------


def test_an_invited_auditor_sets_a_password_signs_in_and_reads_as_an_auditor(
    admin_client: Client, admin_user: Any
) -> None:
    response = _invite(admin_client)
    assert response.status_code == 302
    assert mail.outbox[0].to == ["bob@example.com"]
    path = _emailed_link()
    bob = _user("bob")
    assert not bob.has_usable_password()

    assert Client().get(path).status_code == 200
    set_response = _set_password(path)
    assert set_response.status_code == 302 and set_response["Location"] == reverse("account_login")

    client, signed_in = _sign_in("bob", NEW_PASSWORD)
    assert signed_in.status_code == 302
    assert client.get(reverse("keyvault:dashboard")).status_code == 200
    assert client.get(reverse("keyvault:audit_log")).status_code == 200
    assert client.get(reverse("keyvault:integration_create")).status_code == 403
    assert client.get(reverse("keyvault:user_list")).status_code == 403

    (invited,) = _events(AuditAction.USER_INVITED)
    assert (invited.actor_id, invited.target_type, invited.target_id) == (
        admin_user.pk,
        "user",
        str(bob.pk),
    )
    assert invited.details == {"username": "bob", "email": "bob@example.com", "role": "auditor"}
    (password_set,) = _events(AuditAction.USER_PASSWORD_SET)
    assert password_set.actor_id == bob.pk and password_set.target_id == str(bob.pk)


def test_an_invited_admin_gets_the_admin_role(admin_client: Client) -> None:
    _invite(admin_client, username="erin", role="admin")
    _set_password(_emailed_link())

    client, _ = _sign_in("erin", NEW_PASSWORD)

    assert client.get(reverse("keyvault:user_list")).status_code == 200


def test_a_used_link_is_refused(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()
    _set_password(path)

    again = Client().get(path)
    second = _set_password(path, password="another-password-2026")

    assert again.status_code == 410 and "used already" in again.content.decode()
    assert second.status_code == 410
    _, response = _sign_in("bob", NEW_PASSWORD)
    assert response.status_code == 302  # the first password stands
    assert len(_events(AuditAction.USER_PASSWORD_SET)) == 1


def test_a_link_works_until_it_expires(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()

    with time_machine.travel(NOW + timedelta(hours=71), tick=False):
        assert Client().get(path).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=73), tick=False):
        expired = _set_password(path)

    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert not _user("bob").has_usable_password()
    assert not _events(AuditAction.USER_PASSWORD_SET)


@override_settings(KEYVAULT_INVITE_MAX_AGE_HOURS=1)
def test_the_link_lifetime_is_a_setting(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()

    with time_machine.travel(NOW + timedelta(minutes=61), tick=False):
        assert Client().get(path).status_code == 410


def test_a_tampered_link_is_refused(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]

    response = Client().get(tampered)

    assert response.status_code == 410 and "not valid" in response.content.decode()


def test_a_new_link_replaces_the_old_one(admin_client: Client) -> None:
    _invite(admin_client)
    old = _emailed_link()
    mail.outbox.clear()

    renewed = admin_client.post(reverse("keyvault:user_invite_renew", kwargs={"username": "bob"}))
    new = _emailed_link()

    assert renewed.status_code == 302
    assert Client().get(old).status_code == 410
    assert Client().get(new).status_code == 200
    assert _events(AuditAction.USER_INVITED)[-1].details["renewed"] is True


def test_a_deactivated_users_link_is_refused(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()
    admin_client.post(reverse("keyvault:user_deactivate", kwargs={"username": "bob"}))

    assert Client().get(path).status_code == 410


@override_settings(EMAIL_BACKEND=CONSOLE)
def test_with_console_email_the_link_is_shown_once_to_the_admin(admin_client: Client) -> None:
    response = _invite(admin_client)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    path = _link_path(response.content.decode())
    assert Client().get(path).status_code == 200
    detail = admin_client.get(reverse("keyvault:user_detail", kwargs={"username": "bob"}))
    assert path not in detail.content.decode()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_when_the_email_cannot_be_sent_the_link_is_shown_instead(admin_client: Client) -> None:
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": _closed_port(),
        "EMAIL_TIMEOUT": 2,
    }
    with override_settings(**smtp):
        response = _invite(admin_client)

    page = response.content.decode()
    assert response.status_code == 200 and "could not be sent" in page
    assert Client().get(_link_path(page)).status_code == 200


def test_an_invitation_for_a_taken_username_changes_nothing(admin_client: Client) -> None:
    before = AuditEvent.objects.count()

    response = _invite(admin_client, username="alice")

    assert response.status_code == 200
    assert "exists already" in response.content.decode()
    assert AuditEvent.objects.count() == before and not mail.outbox


def test_the_link_and_the_password_are_never_in_the_audit_log(admin_client: Client) -> None:
    _invite(admin_client)
    path = _emailed_link()
    _set_password(path)

    stored = json.dumps(list(AuditEvent.objects.values()), default=str)

    token = parse_qs(urlsplit(path).query)["t"][0]
    assert token.split(":")[-1] not in stored
    assert NEW_PASSWORD not in stored


def test_the_web_access_log_leaves_query_strings_and_so_links_out() -> None:
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))

    assert "--access-logformat" in web and "%(U)s" in web
    assert "%(r)s" not in web and "%(q)s" not in web and "%(f)s" not in web


# --- the users page -------------------------------------------------------------------------


def test_the_users_page_lists_role_sign_in_method_last_sign_in_and_status(
    admin_client: Client, auditor_user: Any
) -> None:
    _invite(admin_client, username="bob")
    _sign_in("carol", PASSWORD)

    page = admin_client.get(reverse("keyvault:user_list")).content.decode()

    table = page.split('id="users"')[1]
    rows = {name: table.split(f">{name}</a>")[1].split("</tr>")[0] for name in ("alice", "bob")}
    rows["carol"] = table.split(">carol</a>")[1].split("</tr>")[0]
    assert "Admin" in rows["alice"] and "Password" in rows["alice"]
    assert "Auditor" in rows["bob"] and "Invited, no password yet" in rows["bob"]
    assert "Never" in rows["bob"] and "Active" in rows["bob"]
    assert "1 Mar 2026" in rows["carol"]  # last sign-in
    assert 'data-label="MFA">Off' in rows["alice"]  # allauth.mfa: no authenticator yet


def test_an_auditor_is_refused_the_users_pages(auditor_client: Client, admin_user: Any) -> None:
    for url in (
        reverse("keyvault:user_list"),
        reverse("keyvault:user_invite"),
        reverse("keyvault:user_detail", kwargs={"username": "alice"}),
    ):
        assert auditor_client.get(url).status_code == 403


def test_changing_a_role_is_audited_and_takes_effect(
    admin_client: Client, admin_user: Any, auditor_user: Any
) -> None:
    url = reverse("keyvault:user_role", kwargs={"username": "carol"})

    response = admin_client.post(url, {"role": "admin"})

    assert response.status_code == 302
    client = Client()
    client.force_login(_user("carol"))
    assert client.get(reverse("keyvault:user_list")).status_code == 200
    (event,) = _events(AuditAction.USER_ROLE_CHANGED)
    assert (event.actor_id, event.target_id) == (admin_user.pk, str(auditor_user.pk))
    assert event.details == {"username": "carol", "from": "auditor", "to": "admin"}


def test_setting_the_role_a_user_has_writes_nothing(
    admin_client: Client, auditor_user: Any
) -> None:
    before = AuditEvent.objects.count()

    admin_client.post(
        reverse("keyvault:user_role", kwargs={"username": "carol"}), {"role": "auditor"}
    )

    assert AuditEvent.objects.count() == before


def test_the_last_admin_cannot_be_made_an_auditor(admin_client: Client, admin_user: Any) -> None:
    before = AuditEvent.objects.count()

    response = admin_client.post(
        reverse("keyvault:user_role", kwargs={"username": "alice"}), {"role": "auditor"}
    )

    assert response.status_code == 400
    assert "alice is the last active admin" in response.content.decode()
    assert "Nothing was changed" in response.content.decode()
    assert selectors.user_role(_user("alice")) == Role.ADMIN
    assert AuditEvent.objects.count() == before


def test_the_last_admin_cannot_be_deactivated(admin_user: Any) -> None:
    with pytest.raises(ValidationError, match="last active admin"):
        services.user_deactivate(user=admin_user, actor=None, now=NOW)

    assert _user("alice").is_active


def test_a_deactivated_admin_does_not_count_as_the_other_admin(admin_user: Any) -> None:
    dave = user_create(username="dave", password=PASSWORD, role=Role.ADMIN)
    services.user_deactivate(user=dave, actor=admin_user, now=NOW)

    with pytest.raises(ValidationError, match="last active admin"):
        services.user_role_set(user=admin_user, role=Role.AUDITOR, actor=None, now=NOW)


def test_of_two_admins_demoting_each_other_only_the_first_succeeds(admin_user: Any) -> None:
    dave = user_create(username="dave", password=PASSWORD, role=Role.ADMIN)

    assert services.user_role_set(user=dave, role=Role.AUDITOR, actor=admin_user, now=NOW)
    with pytest.raises(ValidationError, match="last active admin"):
        services.user_role_set(user=admin_user, role=Role.AUDITOR, actor=dave, now=NOW)


def test_an_admin_cannot_deactivate_themselves(admin_client: Client, admin_user: Any) -> None:
    user_create(username="dave", password=PASSWORD, role=Role.ADMIN)

    response = admin_client.post(reverse("keyvault:user_deactivate", kwargs={"username": "alice"}))

    assert response.status_code == 400
    assert "cannot deactivate your own account" in response.content.decode()
    assert _user("alice").is_active


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(
    admin_client: Client, admin_user: Any, auditor_user: Any
) -> None:
    carol, _ = _sign_in("carol", PASSWORD)

    admin_client.post(reverse("keyvault:user_deactivate", kwargs={"username": "carol"}))

    assert carol.get(reverse("keyvault:dashboard")).status_code == 302  # to the login page
    assert _sign_in("carol", PASSWORD)[1].status_code == 200  # refused
    admin_client.post(reverse("keyvault:user_reactivate", kwargs={"username": "carol"}))
    assert _sign_in("carol", PASSWORD)[1].status_code == 302
    deactivated, reactivated = (
        _events(AuditAction.USER_DEACTIVATED)[0],
        _events(AuditAction.USER_REACTIVATED)[0],
    )
    for event in (deactivated, reactivated):
        assert (event.actor_id, event.target_id) == (admin_user.pk, str(auditor_user.pk))
        assert event.details == {"username": "carol"}


def test_an_admin_unlocks_a_user_locked_out_of_sign_in(
    admin_client: Client, admin_user: Any, auditor_user: Any
) -> None:
    attacker = Client()
    for _ in range(5):
        attacker.post(reverse("account_login"), {"login": "carol", "password": "wrong"})
    assert _sign_in("carol", PASSWORD)[1].status_code == 429
    listing = admin_client.get(reverse("keyvault:user_list")).content.decode()
    assert "Sign-in locked" in listing

    response = admin_client.post(reverse("keyvault:user_unlock", kwargs={"username": "carol"}))

    assert response.status_code == 302
    assert _sign_in("carol", PASSWORD)[1].status_code == 302
    (event,) = _events(AuditAction.USER_UNLOCKED)
    assert (event.actor_id, event.target_id) == (admin_user.pk, str(auditor_user.pk))
    assert event.details["sign_in_attempts"] >= 1 and event.details["reveal_failures"] == 0


def test_unlocking_a_user_who_is_not_locked_writes_nothing(
    admin_client: Client, auditor_user: Any
) -> None:
    before = AuditEvent.objects.count()

    admin_client.post(reverse("keyvault:user_unlock", kwargs={"username": "carol"}))

    assert AuditEvent.objects.count() == before


def test_a_user_page_that_does_not_exist_is_404(admin_client: Client) -> None:
    url = reverse("keyvault:user_detail", kwargs={"username": "nobody"})
    assert admin_client.get(url).status_code == 404


# --- one's own account ----------------------------------------------------------------------


def test_changing_ones_password_keeps_the_session_and_is_audited(
    auditor_client: Client, auditor_user: Any
) -> None:
    response = auditor_client.post(
        reverse("keyvault:account"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert auditor_client.get(reverse("keyvault:dashboard")).status_code == 200
    assert _sign_in("carol", PASSWORD)[1].status_code == 200  # the old one is refused
    assert _sign_in("carol", NEW_PASSWORD)[1].status_code == 302
    (event,) = _events(AuditAction.USER_PASSWORD_CHANGED)
    assert event.actor_id == auditor_user.pk and event.details == {"username": "carol"}


def test_a_wrong_current_password_is_refused_and_audited(
    auditor_client: Client, auditor_user: Any
) -> None:
    response = auditor_client.post(
        reverse("keyvault:account"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert _user("carol").check_password(PASSWORD)
    (event,) = _events(AuditAction.USER_PASSWORD_CHANGE_REFUSED)
    assert event.actor_id == auditor_user.pk and event.details["reason"] == "wrong password"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (PASSWORD, "short", "too short"),
        (PASSWORD, "password1234", "too common"),
    ],
)
def test_a_refused_password_change_changes_nothing(
    auditor_client: Client, auditor_user: Any, old: str, new: str, message: str
) -> None:
    before = AuditEvent.objects.count()

    response = auditor_client.post(
        reverse("keyvault:account"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 200 and message in response.content.decode()
    assert AuditEvent.objects.count() == before
    assert _user("carol").check_password(PASSWORD)


def test_the_account_page_lists_ones_own_recent_sign_ins(auditor_user: Any) -> None:
    Client().post(reverse("account_login"), {"login": "carol", "password": "wrong"})
    client, _ = _sign_in("carol", PASSWORD)
    _sign_in("alice-not-carol", PASSWORD)

    page = client.get(reverse("keyvault:account")).content.decode()

    sign_ins = page.split('id="sign-ins"')[1].split("</ul>")[0]
    assert sign_ins.count("<li>") == 2
    assert "Signed in" in sign_ins and "Sign-in failed" in sign_ins
    assert "127.0.0.1" in sign_ins


def test_wrong_current_passwords_count_towards_the_reveal_limit(
    admin_client: Client, admin_user: Any, make_credential: Any
) -> None:
    credential, _ = make_credential()
    wrong = {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    pages = [admin_client.post(reverse("keyvault:account"), wrong) for _ in range(5)]
    assert "4 attempts left" in pages[0].content.decode()
    assert "paused" in pages[4].content.decode()

    right = {**wrong, "old_password": PASSWORD}
    refused = admin_client.post(reverse("keyvault:account"), right)
    reveal = admin_client.post(
        reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk}),
        {"password": PASSWORD},
    )

    assert refused.status_code == 429 and reveal.status_code == 429
    assert _user("alice").check_password(PASSWORD)
    assert len(_events(AuditAction.USER_PASSWORD_CHANGE_REFUSED)) == 5
    assert _sign_in("alice", PASSWORD)[1].status_code == 302  # sign-in is not affected


def test_a_username_the_users_pages_use_themselves_is_refused(admin_client: Client) -> None:
    response = _invite(admin_client, username="Invite")

    assert "That name is reserved" in response.content.decode()
    assert not get_user_model().objects.filter(username__iexact="invite").exists()
