"""API tokens: hashed at rest, refused once expired, revoked or their owner deactivated, last use
recorded, scopes and role enforced at every call, made on the token page or by a command."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keyvault.api.models import ApiToken, Scope
from keyvault.api.tokens import api_token_create, api_token_revoke
from keyvault.models import AuditAction, AuditEvent, Integration
from tests.api.conftest import MakeToken, bearer
from tests.factories import new_token

LIST = "/api/v1/integrations/"


def test_a_token_is_stored_only_as_its_sha256(make_token: MakeToken) -> None:
    token, raw = make_token()

    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert not [k for k, v in row.items() if isinstance(v, str) and raw[10:20] in v]
    assert raw.startswith("kv_") and len(raw) >= 40
    assert row["prefix"] == raw[:10]


def test_a_live_token_lists_integrations_and_records_its_last_use(
    make_token: MakeToken, integration: Integration
) -> None:
    token, raw = make_token(scopes=[Scope.READ])
    assert token.last_used_at is None

    response = bearer(raw).get(LIST)

    assert response.status_code == 200
    assert [r["integration"]["name"] for r in response.json()["results"]] == [integration.name]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(make_token: MakeToken, db: Any) -> None:
    token, raw = make_token(scopes=[Scope.READ])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        bearer(raw).get(LIST)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        bearer(raw).get(LIST)
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        bearer(raw).get(LIST)
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_an_expired_token_is_refused(make_token: MakeToken, db: Any) -> None:
    now = timezone.now()
    _, raw = make_token(expires_at=now + timedelta(days=1), now=now)
    with time_machine.travel(now + timedelta(days=1, seconds=1), tick=False):
        response = bearer(raw).get(LIST)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(make_token: MakeToken, admin_user: Any) -> None:
    token, raw = make_token()
    assert api_token_revoke(token=token, actor=admin_user, now=timezone.now())

    assert bearer(raw).get(LIST).status_code == 401
    assert not api_token_revoke(token=token, actor=admin_user, now=timezone.now())
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REVOKED).count() == 1


def test_a_deactivated_users_tokens_stop_working(make_token: MakeToken, admin_user: Any) -> None:
    _, raw = make_token()
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])

    assert bearer(raw).get(LIST).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer kv_nope", "Bearer é"])
def test_a_malformed_or_unknown_token_is_refused(header: str, db: Any) -> None:
    assert Client(HTTP_AUTHORIZATION=header).get(LIST).status_code == 401


def test_a_read_token_cannot_write(make_token: MakeToken, integration: Integration) -> None:
    _, raw = make_token(scopes=[Scope.READ])
    before = AuditEvent.objects.count()

    response = bearer(raw).patch(
        reverse("api:integration", kwargs={"integration_id": integration.pk}),
        {"owner": "someone"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "write" in response.json()["detail"]
    assert AuditEvent.objects.count() == before


def test_a_demoted_admins_write_token_can_only_read(
    make_token: MakeToken, integration: Integration
) -> None:
    _, raw = make_token(scopes=[Scope.READ, Scope.WRITE], role="auditor")
    client = bearer(raw)
    url = reverse("api:integration", kwargs={"integration_id": integration.pk})

    assert client.get(url).status_code == 200
    refused = client.patch(url, {"owner": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "role" in refused.json()["detail"]


def test_each_use_of_a_write_scope_is_audited_with_the_tokens_name(
    make_token: MakeToken, integration: Integration
) -> None:
    token, raw = make_token(scopes=[Scope.WRITE], name="terraform")
    url = reverse("api:integration", kwargs={"integration_id": integration.pk})

    bearer(raw).patch(url, {"owner": "Platform"}, content_type="application/json")
    bearer(raw).patch(url, {"owner_email": "not an email"}, content_type="application/json")

    uses = AuditEvent.objects.filter(action=AuditAction.API_REQUEST).order_by("seq")
    assert [(e.details["status"], e.details["token_name"]) for e in uses] == [
        (200, "terraform"),
        (400, "terraform"),
    ]
    assert all(e.actor_id == token.user_id and raw not in str(e.details) for e in uses)
    assert AuditEvent.objects.filter(action=AuditAction.INTEGRATION_EDITED).count() == 1


def test_a_token_gets_at_most_its_owners_role(auditor_user: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        api_token_create(
            user=auditor_user,
            name="sneaky",
            scopes=[Scope.READ, Scope.WRITE],
            expires_at=None,
            actor=auditor_user,
            now=timezone.now(),
        )
    assert "scopes" in refused.value.message_dict
    token, _ = api_token_create(
        user=auditor_user,
        name="report",
        scopes=[Scope.READ],
        expires_at=None,
        actor=auditor_user,
        now=timezone.now(),
    )
    assert token.scope_set == {Scope.READ}


def test_a_token_lives_90_days_by_default_and_one_year_at_most(admin_user: Any) -> None:
    now = timezone.now()
    token, _ = api_token_create(
        user=admin_user, name="a", scopes=["read"], expires_at=None, actor=None, now=now
    )
    assert token.expires_at == now + timedelta(days=90)
    for expires_at in (now + timedelta(days=366), now):
        with pytest.raises(ValidationError) as refused:
            api_token_create(
                user=admin_user,
                name="b",
                scopes=["read"],
                expires_at=expires_at,
                actor=None,
                now=now,
            )
        assert "expires_at" in refused.value.message_dict


def test_the_command_prints_a_working_token(admin_user: Any, integration: Integration) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", "alice", "--name", "cron", "--scope", "read", stdout=out, stderr=err
    )

    raw = out.getvalue().strip()
    assert bearer(raw).get(LIST).status_code == 200
    assert "shown once" in err.getvalue()
    assert ApiToken.objects.get().name == "cron"


def test_the_command_refuses_a_scope_beyond_the_role(auditor_user: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="role"):
        call_command("create_api_token", "carol", "--name", "x", "--scope", "write")


def test_the_token_page_shows_a_new_token_once(admin_client: Client) -> None:
    url = reverse("keyvault:api_tokens")
    created = admin_client.post(url, {"name": "ci", "scopes": ["read", "write"], "days": "30"})

    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    raw = created.context["created"]["raw"]
    assert raw in created.content.decode()
    token = ApiToken.objects.get()
    assert token.scope_set == {"read", "write"}
    assert token.expires_at - token.created_at == timedelta(days=30)
    again = admin_client.get(url).content.decode()
    assert raw not in again and token.prefix in again
    assert bearer(raw).get(LIST).status_code == 200


def test_an_auditor_is_offered_only_the_read_scope(auditor_client: Client) -> None:
    url = reverse("keyvault:api_tokens")
    page = auditor_client.get(url).content.decode()
    assert 'value="read"' in page and 'value="write"' not in page

    refused = auditor_client.post(url, {"name": "x", "scopes": ["write"], "days": "30"})
    assert refused.context["form"].errors["scopes"]
    assert not ApiToken.objects.exists()


def test_the_token_page_revokes_your_own_token_only(
    admin_client: Client, auditor_client: Client, make_token: MakeToken
) -> None:
    token, raw = make_token()
    revoke = reverse("keyvault:api_token_revoke", kwargs={"token_id": token.pk})

    assert auditor_client.post(revoke).status_code == 404
    assert bearer(raw).get(LIST).status_code == 200
    assert admin_client.post(revoke).status_code == 302
    assert bearer(raw).get(LIST).status_code == 401


def test_the_navigation_links_the_token_page(auditor_client: Client) -> None:
    page = auditor_client.get(reverse("keyvault:dashboard")).content.decode()
    assert reverse("keyvault:api_tokens") in page


def test_an_api_token_is_not_a_session(make_token: MakeToken, integration: Integration) -> None:
    """A bearer token opens the API only: the pages still ask for a sign-in."""
    _, raw = make_token()
    response = bearer(raw).get(reverse("keyvault:dashboard"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_session_does_not_open_the_api(admin_client: Client, integration: Integration) -> None:
    assert admin_client.get(LIST).status_code == 401
    assert (
        admin_client.post(
            LIST,
            {"name": "x", "provider": "atlassian", "credential": {"token": new_token()}},
            content_type="application/json",
        ).status_code
        == 401
    )


def test_deactivating_a_user_on_the_users_page_stops_their_tokens(
    make_token: MakeToken, auditor_user: Any, admin_user: Any
) -> None:
    from keyvault.accounts.services import user_deactivate, user_reactivate

    _, raw = make_token(user=auditor_user, scopes=[Scope.READ])
    assert bearer(raw).get(LIST).status_code == 200

    assert user_deactivate(user=auditor_user, actor=admin_user, now=timezone.now())
    assert bearer(raw).get(LIST).status_code == 401
    assert user_reactivate(user=auditor_user, actor=admin_user, now=timezone.now())
    assert bearer(raw).get(LIST).status_code == 200


def test_a_role_change_narrows_a_token_at_its_next_call(
    make_token: MakeToken, admin_user: Any, integration: Integration
) -> None:
    from django.contrib.auth import get_user_model

    from keyvault.accounts.services import user_role_set
    from keyvault.models import Role

    other_admin = get_user_model().objects.create_user(username="bob", password="x" * 16)
    user_role_set(user=other_admin, role=Role.ADMIN, actor=admin_user, now=timezone.now())
    _, raw = make_token(user=other_admin, scopes=[Scope.READ, Scope.WRITE])
    url = reverse("api:integration", kwargs={"integration_id": integration.pk})
    assert (
        bearer(raw).patch(url, {"owner": "a"}, content_type="application/json").status_code == 200
    )

    user_role_set(user=other_admin, role=Role.AUDITOR, actor=admin_user, now=timezone.now())

    assert (
        bearer(raw).patch(url, {"owner": "b"}, content_type="application/json").status_code == 403
    )
    assert bearer(raw).get(url).status_code == 200


def test_the_account_page_links_the_token_page(auditor_client: Client) -> None:
    page = auditor_client.get(reverse("keyvault:account")).content.decode()
    assert reverse("keyvault:api_tokens") in page
