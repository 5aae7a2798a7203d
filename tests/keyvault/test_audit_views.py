"""The audit log page: filters, free-text search, keyset pagination, read-only for auditors."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyvault.audit.chain import audit_append
from keyvault.audit.selectors import AuditFilter, audit_page
from keyvault.models import AuditAction, AuditEvent
from keyvault.vault.services import credential_reveal
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential

AUDIT_URL = reverse("keyvault:audit_log")


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<th scope="row">(\d+)</th>', html)]


def _integrations_shown(html: str) -> set[Any]:
    return {e.integration_id for e in AuditEvent.objects.filter(seq__in=_seqs(html))}


def _logins(count: int, *, label: str = "bob", start: Any = NOW) -> None:
    for i in range(count):
        audit_append(
            action=AuditAction.LOGIN,
            now=start + timedelta(minutes=i),
            actor_label=label,
            details={"n": i},
        )


def test_log_is_newest_first_fifty_a_page_with_keyset_cursors(
    db: Any, auditor_client: Client
) -> None:
    _logins(120 - AuditEvent.objects.count())  # the client's sign-in is event #1
    first = auditor_client.get(AUDIT_URL).content.decode()
    assert _seqs(first) == list(range(120, 70, -1))
    assert "before=71" in first and "Newer" not in first

    second = auditor_client.get(AUDIT_URL, {"before": 71}).content.decode()
    assert _seqs(second) == list(range(70, 20, -1))
    assert "after=70" in second and "before=21" in second

    last = auditor_client.get(AUDIT_URL, {"before": 21}).content.decode()
    assert _seqs(last) == list(range(20, 0, -1))
    assert "Older" not in last

    oldest = auditor_client.get(AUDIT_URL, {"after": 0}).content.decode()
    assert _seqs(oldest) == list(range(50, 0, -1))
    back = auditor_client.get(AUDIT_URL, {"after": 70}).content.decode()
    assert _seqs(back) == list(range(120, 70, -1))
    assert "Newer" not in back


def test_keyset_pages_cost_the_same_few_queries_with_no_offset(db: Any) -> None:
    _logins(300)
    for cursor in ({}, {"before": 151}, {"before": 3}, {"after": 0}, {"after": 250}):
        with CaptureQueriesContext(connection) as ctx:
            page = audit_page(filters=AuditFilter(), limit=50, **cursor)  # type: ignore[arg-type]
        assert page.events, cursor
        assert len(ctx.captured_queries) <= 2, cursor
        assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)


def test_filters_by_integration_actor_action_and_date_range(
    make_credential: MakeCredential, admin_user: Any, auditor_user: Any, auditor_client: Client
) -> None:
    first, _ = make_credential(name="Atlassian acme")
    second, _ = make_credential(name="Slack acme", now=NOW + timedelta(days=40))
    credential_reveal(credential=first, actor=admin_user, now=NOW + timedelta(days=50))
    audit_append(action=AuditAction.LOGIN, now=NOW + timedelta(days=60), actor=auditor_user)

    def seqs(**params: Any) -> list[int]:
        return _seqs(auditor_client.get(AUDIT_URL, params).content.decode())

    by_integration = seqs(integration=str(first.integration_id))
    assert by_integration and all(
        e.integration_id == first.integration_id
        for e in AuditEvent.objects.filter(seq__in=by_integration)
    )
    assert len(by_integration) == 3  # created, credential created, revealed
    by_actor = seqs(actor=str(auditor_user.pk))
    assert len(by_actor) == 2  # the client's sign-in and the login appended above
    assert {e.actor_id for e in AuditEvent.objects.filter(seq__in=by_actor)} == {auditor_user.pk}
    revealed = seqs(action=AuditAction.CREDENTIAL_REVEALED)
    assert [AuditEvent.objects.get(seq=s).action for s in revealed] == ["credential.revealed"]
    day = (NOW + timedelta(days=40)).date().isoformat()
    in_range = AuditEvent.objects.filter(seq__in=seqs(date_from=day, date_to=day))
    assert {e.integration_id for e in in_range} == {second.integration_id}
    assert len(in_range) == 2
    # Filters combine.
    assert seqs(integration=str(second.integration_id), action=AuditAction.LOGIN) == []


def test_integration_filter_takes_a_name_or_an_id_and_shows_the_name(
    make_credential: MakeCredential, auditor_client: Client
) -> None:
    wanted, _ = make_credential(name="Atlassian acme")
    make_credential(name="Atlassian ACME EU")

    by_name = auditor_client.get(AUDIT_URL, {"integration": "atlassian ACME"}).content.decode()
    assert len(_seqs(by_name)) == 2
    assert _integrations_shown(by_name) == {wanted.integration_id}

    by_id = auditor_client.get(AUDIT_URL, {"integration": str(wanted.integration_id)})
    html = by_id.content.decode()
    assert _seqs(html) == _seqs(by_name)
    assert 'name="integration" value="Atlassian acme"' in html
    assert by_id.context["filter_items"] == [("integration", str(wanted.integration_id))]

    unknown = auditor_client.get(AUDIT_URL, {"integration": "Atlassian"}).content.decode()
    assert "No integration has this name." in unknown
    assert len(_seqs(unknown)) == AuditEvent.objects.count()  # an invalid filter filters nothing


def test_a_name_differing_only_in_case_must_be_typed_exactly(
    make_credential: MakeCredential, auditor_client: Client
) -> None:
    lower, _ = make_credential(name="acme")
    make_credential(name="ACME")
    exact = auditor_client.get(AUDIT_URL, {"integration": "acme"}).content.decode()
    assert _integrations_shown(exact) == {lower.integration_id}
    vague = auditor_client.get(AUDIT_URL, {"integration": "Acme"}).content.decode()
    assert "type the name exactly" in vague


def test_the_page_does_not_list_integrations_so_its_queries_do_not_grow(
    make_credential: MakeCredential, auditor_client: Client
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert auditor_client.get(AUDIT_URL).status_code == 200
        return len(ctx.captured_queries)

    make_credential(name="first")
    before = queries()
    for i in range(5):
        make_credential(name=f"more {i}")
    html = auditor_client.get(AUDIT_URL).content.decode()
    assert queries() == before
    assert "<option" not in html.split('name="integration"')[1].split("</div>")[0]


def test_free_text_searches_actor_label_target_id_and_details(
    make_credential: MakeCredential, auditor_client: Client
) -> None:
    credential, token = make_credential(name="Needle integration")
    audit_append(
        action=AuditAction.LOGIN_FAILED, now=NOW, actor_label="mallory", details={"x": "y"}
    )

    def found(q: str) -> set[str]:
        html = auditor_client.get(AUDIT_URL, {"q": q}).content.decode()
        return {AuditEvent.objects.get(seq=s).action for s in _seqs(html)}

    assert found("mallo") == {"auth.login_failed"}
    assert found(str(credential.pk)[:13]) == {"credential.created"}
    assert found("needle") == {"integration.created"}  # the name is in its details
    assert found(credential.hint) >= {"credential.created"}
    assert found(token) == set()  # secrets are not in the log, so not findable


def test_bad_filter_values_are_reported_and_bad_cursors_ignored(
    db: Any, auditor_client: Client
) -> None:
    _logins(3 - AuditEvent.objects.count())
    response = auditor_client.get(
        AUDIT_URL, {"date_from": "2026-02-30", "actor": "x", "before": "12; DROP", "after": "-1"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid date" in html
    assert _seqs(html) == [3, 2, 1]


def test_auditor_sees_the_log_but_no_secret_and_no_rotate_or_reveal_control(
    make_credential: MakeCredential, admin_user: Any, auditor_client: Client
) -> None:
    credential, token = make_credential()
    credential_reveal(credential=credential, actor=admin_user, now=NOW)
    pages = [
        AUDIT_URL,
        reverse("keyvault:compliance"),
        reverse(
            "keyvault:integration_history", kwargs={"integration_id": credential.integration_id}
        ),
        reverse(
            "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
        ),
        reverse("keyvault:dashboard"),
    ]
    for url in pages:
        response = auditor_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert token not in html and ATLASSIAN_URL not in html, url
        for control in ("/rotate/", "/revoke/", "/reveal/", "/credentials/new/"):
            assert control not in html, (url, control)
    nav = auditor_client.get(AUDIT_URL).content.decode()
    assert 'aria-current="page">Audit log' in nav
    assert reverse("keyvault:compliance") in nav


@pytest.mark.parametrize("method", ["get", "post"])
def test_people_without_a_role_get_nothing(db: Any, method: str) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="nobody", password="x" * 16)
    client = Client()
    client.force_login(user)
    for name in ("keyvault:audit_log", "keyvault:audit_export", "keyvault:compliance"):
        assert getattr(client, method)(reverse(name)).status_code == 403
