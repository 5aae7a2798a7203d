"""What each API endpoint does: the same services as the pages, keyset pages, problem details."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import ReminderStatus
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Integration
from keyvault.vault import checks
from tests.factories import (
    ATLASSIAN_URL,
    NOW,
    MakeCredential,
    email_channel_make,
    new_token,
    reminder_make,
)
from tests.keyvault.test_credential_check import scim_credential
from tests.scim_server import ScimServer

LIST = "/api/v1/integrations/"


def _names(response: Any) -> list[str]:
    return [row["integration"]["name"] for row in response.json()["results"]]


def _all_pages(api: Client, query: str = "", limit: int = 2) -> list[str]:
    names, cursor = [], ""
    while True:
        response = api.get(f"{LIST}?limit={limit}{query}{f'&cursor={cursor}' if cursor else ''}")
        assert response.status_code == 200, response.content
        names += _names(response)
        cursor = response.json()["next"]
        if not cursor:
            return names


def test_keyset_pages_list_every_integration_once_in_the_dashboards_order(
    api: Client, make_credential: MakeCredential, admin_client: Client
) -> None:
    for days in (40, 10, 300, 10, 5):
        make_credential(expires_at=NOW + timedelta(days=days))
    credential, _ = make_credential(name="Zulu revoked")
    api.post(
        reverse("api:credential_revoke", kwargs={"integration_id": credential.integration_id}),
        {"reason": "gone"},
        content_type="application/json",
    )

    names = _all_pages(api)

    dashboard = admin_client.get(reverse("keyvault:dashboard")).context["result"]
    assert names == [row.integration.name for row in dashboard.rows]
    assert len(names) == len(set(names)) == 6
    assert names[-1] == "Zulu revoked"


def test_the_list_filters_by_provider_search_and_expiry(
    api: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Okta prod", provider="okta", scim_url="", expires_at=NOW + timedelta(30))
    make_credential(name="Atlassian acme", expires_at=NOW + timedelta(days=300))

    assert _names(api.get(f"{LIST}?provider=okta")) == ["Okta prod"]
    assert _names(api.get(f"{LIST}?q=acme")) == ["Atlassian acme"]
    soon = (NOW + timedelta(days=60)).isoformat().replace("+00:00", "Z")
    assert _names(api.get(f"{LIST}?expires_before={soon}")) == ["Okta prod"]
    bad = api.get(f"{LIST}?provider=nope&limit=0")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"provider", "limit"}


def test_a_page_costs_the_same_queries_whatever_the_table_size(
    api: Client, make_credential: MakeCredential
) -> None:
    counts = []
    for _ in range(2):
        for _ in range(12):
            make_credential()
        api.get(LIST)  # records the token's last use; the next minute's calls do not
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(f"{LIST}?limit=5").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 4  # the token, the role, the page, its credentials


def test_create_stores_the_integration_and_its_first_credential(
    api: Client, admin_user: Any
) -> None:
    token = new_token()
    response = api.post(
        LIST,
        {
            "name": "Atlassian — beta",
            "provider": "atlassian",
            "owner": "IT",
            "credential": {"scim_url": ATLASSIAN_URL, "token": token},
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current"]["hint"] == token[-4:]
    assert body["current"]["days_left"] == 365
    integration = Integration.objects.get(name="Atlassian — beta")
    assert response["Location"] == reverse("api:integration", args=[integration.pk])
    assert integration.credentials.get().unseal("token_ciphertext") == token
    actions = set(AuditEvent.objects.filter(actor=admin_user).values_list("action", flat=True))
    assert {AuditAction.INTEGRATION_CREATED, AuditAction.CREDENTIAL_CREATED} <= actions


def test_create_reports_the_services_errors_per_field_and_writes_nothing(
    api: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Taken")
    token = new_token()
    response = api.post(
        LIST,
        {
            "name": "Taken",
            "provider": "atlassian",
            "credential": {"scim_url": "https://evil.example/scim", "token": token},
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Bad Request" and problem["status"] == 400
    assert "credential.scim_url" in problem["errors"]
    assert token not in response.content.decode()
    assert Integration.objects.count() == 1


def test_edit_changes_metadata_through_the_service(api: Client, integration: Integration) -> None:
    url = reverse("api:integration", kwargs={"integration_id": integration.pk})

    response = api.patch(url, {"owner": "Platform team"}, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["integration"]["owner"] == "Platform team"
    edited = AuditEvent.objects.get(action=AuditAction.INTEGRATION_EDITED)
    assert edited.details["changed"]["owner"]["to"] == "Platform team"


def test_edit_refuses_the_integrations_token_in_the_notes(
    api: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()
    url = reverse("api:integration", kwargs={"integration_id": credential.integration_id})

    response = api.patch(url, {"notes": f"key: {token}"}, content_type="application/json")

    assert response.status_code == 400
    assert "notes" in response.json()["errors"]
    assert token not in response.content.decode()


def test_rotate_then_revoke_then_add(api: Client, make_credential: MakeCredential) -> None:
    old, _ = make_credential()
    integration_id = old.integration_id
    rotate = reverse("api:credential_rotate", kwargs={"integration_id": integration_id})
    revoke = reverse("api:credential_revoke", kwargs={"integration_id": integration_id})
    add = reverse("api:credential_add", kwargs={"integration_id": integration_id})

    rotated = api.post(
        rotate, {"token": new_token(), "reason": "yearly", "idp_updated": "yes"}, "application/json"
    )
    assert rotated.status_code == 201
    assert rotated.json()["old_credential"] == str(old.pk)
    old.refresh_from_db()
    assert old.state == CredentialState.SUPERSEDED
    stale = api.post(
        rotate,
        {"credential": str(old.pk), "token": new_token(), "idp_updated": "yes"},
        "application/json",
    )
    assert stale.status_code == 400
    assert api.post(add, {"token": new_token()}, "application/json").status_code == 409

    assert api.post(revoke, {}, "application/json").status_code == 400
    revoked = api.post(revoke, {"reason": "leaked"}, "application/json")
    assert revoked.json()["state"] == CredentialState.REVOKED
    again = {"token": new_token(), "idp_updated": "not_yet"}
    assert api.post(rotate, again, "application/json").status_code == 409

    added = api.post(add, {"scim_url": ATLASSIAN_URL, "token": new_token()}, "application/json")
    assert added.status_code == 201
    assert Credential.objects.get(pk=added.json()["id"]).state == CredentialState.CURRENT


def test_reveal_is_audited_like_the_reveal_page(
    api: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, token = make_credential()

    response = api.post(reverse("api:credential_reveal", kwargs={"credential_id": credential.pk}))

    assert response.json()["token"] == token
    revealed = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_REVEALED)
    assert revealed.actor_id == admin_user.pk and revealed.target_id == str(credential.pk)
    use = AuditEvent.objects.get(action=AuditAction.API_REQUEST)
    assert use.details["scope"] == "reveal" and token not in str(use.details)


def test_reminders_list_by_status_and_a_failed_one_is_retried(
    api: Client, integration: Integration
) -> None:
    credential = integration.credentials.get()
    channel = email_channel_make(name="ops mail", recipients="ops@example.com")
    failed = reminder_make(credential=credential, channel=channel, status=ReminderStatus.FAILED)
    reminder_make(credential=credential, channel=channel, threshold=14)

    listed = api.get("/api/v1/reminders/?status=failed").json()
    assert [r["id"] for r in listed["results"]] == [failed.pk]
    assert listed["results"][0]["channel_name"] == "ops mail"

    retried = api.post(reverse("api:reminder_retry", kwargs={"reminder_id": failed.pk}))
    assert retried.status_code == 200
    assert retried.json()["status"] == ReminderStatus.PENDING
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_RETRIED).count() == 1
    again = api.post(reverse("api:reminder_retry", kwargs={"reminder_id": failed.pk}))
    assert again.status_code == 400
    assert api.post(reverse("api:reminder_retry", args=[failed.pk + 99])).status_code == 404


def test_audit_events_take_the_pages_filters_and_keyset_cursors(
    api: Client, make_credential: MakeCredential
) -> None:
    for _ in range(3):
        make_credential()

    created = api.get(f"/api/v1/audit-events/?action={AuditAction.CREDENTIAL_CREATED}&limit=2")
    page = created.json()
    assert [e["action"] for e in page["results"]] == [AuditAction.CREDENTIAL_CREATED] * 2
    assert page["results"][0]["seq"] > page["results"][1]["seq"]
    older = api.get(f"/api/v1/audit-events/?action=credential.created&before={page['older']}")
    assert len(older.json()["results"]) == 1 and older.json()["older"] is None
    name = Integration.objects.order_by("name").first().name  # type: ignore[union-attr]
    by_name = api.get("/api/v1/audit-events/", {"integration": name}).json()["results"]
    assert by_name and {e["integration"] for e in by_name} == {
        str(Integration.objects.get(name=name).pk)
    }
    assert "sentence" in by_name[0]
    bad = api.get("/api/v1/audit-events/?integration=nobody&date_from=2026-13-01")
    assert bad.status_code == 400
    assert {"integration", "date_from"} <= set(bad.json()["errors"])


def test_compliance_summary_matches_the_page(
    api: Client, auditor_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(issued_at=NOW - timedelta(days=400), expires_at=NOW - timedelta(days=5))

    summary = api.get("/api/v1/compliance/").json()
    page = auditor_client.get(reverse("keyvault:compliance")).context["summary"]
    assert summary["expired_count"] == page.expired_count == 1
    assert summary["date_to"] == page.range.end.isoformat()
    assert len(summary["timeline"]) == len(page.timeline)
    bad = api.get("/api/v1/compliance/?date_from=2026-05-01&date_to=2026-04-01")
    assert bad.status_code == 400


def test_an_unknown_api_path_is_a_problem_not_a_page(db: Any) -> None:
    response = Client().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_schema_and_docs_need_no_sign_in_and_hold_no_data(
    client: Client, make_credential: MakeCredential
) -> None:
    _, token = make_credential(name="Schema secret name")
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert schema.status_code == docs.status_code == script.status_code == 200
    assert b"openapi: 3" in schema.content and b"/api/v1/integrations/" in schema.content
    assert b"Schema secret name" not in schema.content and token.encode() not in schema.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    assert b"<script>" not in docs.content and b"<style>" not in docs.content
    assert b"http" not in docs.content.split(b"<body>")[1].replace(b"https://", b"")


def test_rotating_a_version_of_another_integration_is_refused(
    api: Client, make_credential: MakeCredential
) -> None:
    mine, _ = make_credential()
    other, _ = make_credential()
    rotate = reverse("api:credential_rotate", kwargs={"integration_id": mine.integration_id})

    response = api.post(
        rotate,
        {"credential": str(other.pk), "token": new_token(), "idp_updated": "yes"},
        "application/json",
    )

    assert response.status_code == 400
    assert "credential" in response.json()["errors"]
    other.refresh_from_db()
    assert other.state == CredentialState.CURRENT


def test_a_rotation_must_say_whether_the_identity_provider_has_the_new_key(
    api: Client, make_credential: MakeCredential
) -> None:
    old, _ = make_credential()
    rotate = reverse("api:credential_rotate", kwargs={"integration_id": old.integration_id})

    missing = api.post(rotate, {"token": new_token()}, "application/json")
    a_boolean = api.post(rotate, {"token": new_token(), "idp_updated": True}, "application/json")
    not_yet = api.post(rotate, {"token": new_token(), "idp_updated": "not_yet"}, "application/json")

    assert missing.status_code == 400 and "idp_updated" in missing.json()["errors"]
    assert a_boolean.status_code == 400 and "idp_updated" in a_boolean.json()["errors"]
    assert not_yet.status_code == 201
    new = Credential.objects.get(state=CredentialState.CURRENT)
    assert new.idp_pending is True
    schema = api.get(reverse("api:schema"), {"format": "json"}).json()
    rotate_request = schema["components"]["schemas"]["RotateRequest"]
    assert "idp_updated" in rotate_request["required"]


def test_a_credential_says_what_its_vendor_said_and_whether_the_idp_has_it(
    api: Client, make_credential: MakeCredential, scim: ScimServer, admin_user: Any
) -> None:
    credential = scim_credential(make_credential, scim, token=new_token())  # not the vendor's
    checks.credential_check(credential=credential, actor=admin_user, now=NOW)
    detail = reverse("api:integration", kwargs={"integration_id": credential.integration_id})
    rotate = reverse("api:credential_rotate", kwargs={"integration_id": credential.integration_id})

    checked = api.get(detail).json()["current"]
    assert (checked["check_status"], checked["idp_pending"]) == ("rejected", False)
    assert checked["checked_at"] == NOW.isoformat().replace("+00:00", "Z")

    rotated = api.post(rotate, {"token": scim.token, "idp_updated": "not_yet"}, "application/json")
    assert rotated.status_code == 201
    current = api.get(detail).json()["current"]
    assert (current["check_status"], current["checked_at"], current["idp_pending"]) == (
        "",
        None,
        True,
    )
    (row,) = api.get(LIST).json()["results"]
    assert (row["credential"]["idp_pending"], row["credential"]["check_status"]) == (True, "")
