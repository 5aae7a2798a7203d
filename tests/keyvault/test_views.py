"""The vault pages: dashboard, detail, edit and reveal."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Integration
from keyvault.vault.providers import IdentityProvider, ProviderKind
from tests.factories import NOW, PASSWORD, MakeCredential


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def dashboard_names(response: Any) -> list[str]:
    return [row.integration.name for row in response.context["result"].rows]


def text(response: Any) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def reveal_url(credential: Credential) -> str:
    return reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})


def detail_url(integration: Integration) -> str:
    return reverse("keyvault:integration_detail", kwargs={"integration_id": integration.pk})


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


# --- dashboard ---


def test_dashboard_lists_soonest_expiry_first_with_status_in_words(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Later", expires_at=NOW + timedelta(days=200))
    make_credential(name="Soon", expires_at=NOW + timedelta(days=10))
    make_credential(
        name="Expired",
        issued_at=NOW - timedelta(days=368),
        expires_at=NOW - timedelta(days=3),
    )
    revoked, _ = make_credential(name="Revoked", expires_at=NOW + timedelta(days=1))
    # No revoke page yet: put the version in the state the revoke service leaves it in.
    Credential.objects.filter(pk=revoked.pk).update(state=CredentialState.REVOKED, revoked_at=NOW)
    make_credential(name="Default lifetime")

    response = auditor_client.get("/")

    assert response.status_code == 200
    assert dashboard_names(response) == ["Expired", "Soon", "Later", "Default lifetime", "Revoked"]
    page = text(response)
    assert "Expired Atlassian (SCIM API key) ✕ Expired expired 3 days ago 26 Feb 2026" in page
    assert "Soon Atlassian (SCIM API key) ! Due in 10 days expires in 10 days" in page
    assert "Later Atlassian (SCIM API key) ✓ OK expires in 200 days" in page
    assert "Default lifetime Atlassian (SCIM API key) ✓ OK expires in 365 days 1 Mar 2027" in page
    assert "Revoked Atlassian (SCIM API key) ⊘ Revoked Revoked 1 Mar 2026" in page


def test_dashboard_shows_provider_identity_provider_and_owner(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(
        name="GitHub — acme",
        provider=ProviderKind.GITHUB,
        scim_url="https://api.github.com/scim/v2/enterprises/acme",
        identity_provider=IdentityProvider.ENTRA_ID,
        owner="Platform team",
        owner_email="platform@example.com",
    )

    page = text(auditor_client.get("/"))

    assert (
        "GitHub — acme GitHub (SCIM / personal access token) ✓ OK expires in 365 days 1 Mar 2027"
        " Microsoft Entra ID Platform team platform@example.com"
    ) in page


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("acme", ["Atlassian — acme", "Slack — acme"]),
        ("SLACK", ["Slack — acme"]),
        ("dana", ["Atlassian — acme"]),
        ("entra", ["Entra — globex"]),  # provider label, stored as "entra_id"
        ("okta", []),  # identity provider is not searched, and no name/owner/provider matches
        ("", ["Atlassian — acme", "Slack — acme", "Entra — globex"]),
    ],
)
def test_dashboard_search_covers_name_owner_and_provider(
    auditor_client: Client, make_credential: MakeCredential, q: str, expected: list[str]
) -> None:
    make_credential(name="Atlassian — acme", owner="Dana", expires_at=NOW + timedelta(days=5))
    make_credential(
        name="Slack — acme",
        provider=ProviderKind.SLACK,
        scim_url="https://api.slack.com/scim/v2/",
        expires_at=NOW + timedelta(days=6),
    )
    make_credential(
        name="Entra — globex",
        provider=ProviderKind.ENTRA_ID,
        scim_url="",
        expires_at=NOW + timedelta(days=7),
    )

    response = auditor_client.get("/", {"q": q})

    assert dashboard_names(response) == expected


def test_dashboard_paginates_fifty_a_page(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    for n in range(51):
        make_credential(name=f"Integration {n:02d}", expires_at=NOW + timedelta(days=10 + n))

    first = auditor_client.get("/")
    second = auditor_client.get("/", {"page": 2})

    assert len(dashboard_names(first)) == 50
    assert dashboard_names(second) == ["Integration 50"]
    assert 'rel="next" href="?page=2"' in first.content.decode()
    assert "page 2 of 2" in text(second)


def test_dashboard_query_count_does_not_grow_with_the_table(
    admin_client: Client, make_credential: MakeCredential, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        make_credential(name=f"Small {n}")
    with CaptureQueriesContext(connection) as three:
        assert len(dashboard_names(admin_client.get("/"))) == 3
    for n in range(27):
        make_credential(name=f"Large {n}")

    with django_assert_num_queries(len(three)):
        assert len(dashboard_names(admin_client.get("/"))) == 30
    assert len(three) <= 12


def test_dashboard_links_to_writes_only_for_admins(
    admin_client: Client, auditor_client: Client, integration: Integration
) -> None:
    create = reverse("keyvault:integration_create")

    assert create in admin_client.get("/").content.decode()
    assert create not in auditor_client.get("/").content.decode()


def test_a_user_without_a_role_is_refused(client: Client, db: Any) -> None:
    client.force_login(get_user_model().objects.create_user(username="dave", password=PASSWORD))

    assert client.get("/").status_code == 403


# --- detail ---


def test_detail_shows_the_current_credential_and_every_version(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    old, _ = make_credential(name="Acme", issued_at=NOW - timedelta(days=300))
    Credential.objects.filter(pk=old.pk).update(
        state=CredentialState.SUPERSEDED, superseded_at=NOW - timedelta(days=1)
    )
    current, token = make_credential(
        name="Acme-2", issued_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=20)
    )
    Credential.objects.filter(pk=current.pk).update(integration=old.integration)

    response = auditor_client.get(detail_url(old.integration))

    assert response.status_code == 200
    page = text(response)
    assert "Current credential ! Due in 20 days Expires in 20 days" in page
    assert f"Token hint ····{current.hint}" in page
    assert f"Fingerprint {current.fingerprint[:16]}" in page
    assert current.fingerprint[:17] not in page
    assert "Expires 21 Mar 2026, 09:00 Issued 28 Feb 2026, 09:00" in page
    assert "2 in total" in page
    assert f"····{old.hint} • Superseded" in page
    assert token not in response.content.decode()


def test_detail_offers_edit_and_reveal_to_admins_only(
    admin_client: Client, auditor_client: Client, integration: Integration
) -> None:
    credential = integration.credentials.get()
    edit = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})

    admin_page = admin_client.get(detail_url(integration)).content.decode()
    auditor_page = auditor_client.get(detail_url(integration)).content.decode()

    assert edit in admin_page and reveal_url(credential) in admin_page
    assert edit not in auditor_page and reveal_url(credential) not in auditor_page
    assert "Reveal" not in auditor_page


def test_detail_of_an_unknown_integration_is_404(auditor_client: Client) -> None:
    response = auditor_client.get("/integrations/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


# --- edit ---


def edit_data(integration: Integration, **changes: str) -> dict[str, str]:
    data = {
        "name": integration.name,
        "provider": integration.provider,
        "identity_provider": integration.identity_provider,
        "owner": integration.owner,
        "owner_email": integration.owner_email,
        "notes": integration.notes,
        "reminder_thresholds": integration.reminder_thresholds,
    }
    data.update(changes)
    return data


def test_edit_saves_and_audits_the_changed_fields(
    admin_client: Client, integration: Integration
) -> None:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    assert 'value="Atlassian Cloud — acme (Okta SCIM)"' in admin_client.get(url).content.decode()

    response = admin_client.post(url, edit_data(integration, owner="Erin", notes="See runbook"))

    assert response.status_code == 302
    assert response["Location"] == detail_url(integration)
    integration.refresh_from_db()
    assert (integration.owner, integration.notes) == ("Erin", "See runbook")
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == AuditAction.INTEGRATION_EDITED
    assert event.details == {
        "changed": {
            "owner": {"from": "", "to": "Erin"},
            "notes": {"from": "", "to": "See runbook"},
        }
    }


def test_edit_sets_reminder_days_and_refuses_bad_ones(
    admin_client: Client, integration: Integration
) -> None:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    before = AuditEvent.objects.count()

    response = admin_client.post(url, edit_data(integration, reminder_thresholds="30,7,x"))

    assert response.status_code == 200
    assert "“x” is not a whole number of days." in response.content.decode()
    assert AuditEvent.objects.count() == before

    response = admin_client.post(url, edit_data(integration, reminder_thresholds="60, 30,7"))

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.reminder_thresholds == "60, 30,7"
    assert AuditEvent.objects.count() == before + 1


def test_edit_without_changes_writes_no_audit_event(
    admin_client: Client, integration: Integration
) -> None:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    before = AuditEvent.objects.count()

    response = admin_client.post(url, edit_data(integration), follow=True)

    assert AuditEvent.objects.count() == before
    assert "Nothing changed." in response.content.decode()


def test_edit_refuses_a_name_in_use(
    admin_client: Client, integration: Integration, make_credential: MakeCredential
) -> None:
    make_credential(name="Other")
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})

    response = admin_client.post(url, edit_data(integration, name="Other"))

    assert response.context["form"].errors["name"] == [
        "An integration with this name already exists."
    ]
    integration.refresh_from_db()
    assert integration.name == "Atlassian Cloud — acme (Okta SCIM)"


def test_auditor_cannot_edit(auditor_client: Client, integration: Integration) -> None:
    url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
    before = AuditEvent.objects.count()

    assert auditor_client.get(url).status_code == 403
    assert auditor_client.post(url, edit_data(integration, owner="Mallory")).status_code == 403
    integration.refresh_from_db()
    assert integration.owner == ""
    assert AuditEvent.objects.count() == before


# --- reveal ---


def test_reveal_asks_for_the_password_first(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()
    before = audit_actions()

    response = admin_client.get(reveal_url(credential))

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()
    assert token not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert audit_actions() == before


def test_reveal_with_a_wrong_password_is_refused_and_audited(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()

    response = admin_client.post(reveal_url(credential), {"password": "not my password"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == [
        "That password is not right. The attempt was recorded; 4 attempts left."
    ]
    assert token not in response.content.decode()
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.action == AuditAction.CREDENTIAL_REVEAL_DENIED
    assert event.target_id == str(credential.pk)
    assert AuditAction.CREDENTIAL_REVEALED not in audit_actions()


def test_reveal_with_the_right_password_shows_the_secret_uncached_and_audited(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()

    response = admin_client.post(reveal_url(credential), {"password": PASSWORD})

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<code class="secret__value" id="revealed-token">{token}</code>' in page
    assert "https://api.atlassian.com/scim/directory/0f6a1c2e-" in page
    assert 'data-copy="revealed-token"' in page
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.target_id) == (AuditAction.CREDENTIAL_REVEALED, str(credential.pk))


def test_reveal_of_a_destroyed_secret_says_so(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    Credential.objects.filter(pk=credential.pk).update(
        destroyed_at=NOW, token_ciphertext=b"", scim_url_ciphertext=b""
    )

    shown = admin_client.get(reveal_url(credential))
    posted = admin_client.post(reveal_url(credential), {"password": PASSWORD})

    assert "destroyed after its grace period" in shown.content.decode()
    assert 'name="password"' not in shown.content.decode()
    assert "destroyed after its grace period" in posted.content.decode()
    assert AuditAction.CREDENTIAL_REVEALED not in audit_actions()


def test_reveal_of_an_undecryptable_secret_names_the_problem(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential()
    # Ciphertext moved from another row no longer decrypts (bound to its row id).
    other, _ = make_credential()
    Credential.objects.filter(pk=credential.pk).update(token_ciphertext=other.token_ciphertext)

    response = admin_client.post(reveal_url(credential), {"password": PASSWORD})

    page = response.content.decode()
    assert "This credential cannot be revealed" in page
    assert "failed authentication" in page
    assert AuditAction.CREDENTIAL_REVEALED not in audit_actions()


def test_auditor_can_never_reveal(auditor_client: Client, make_credential: MakeCredential) -> None:
    credential, token = make_credential()
    before = audit_actions()

    get = auditor_client.get(reveal_url(credential))
    post = auditor_client.post(reveal_url(credential), {"password": PASSWORD})

    assert (get.status_code, post.status_code) == (403, 403)
    assert token not in post.content.decode()
    assert audit_actions() == before


def test_repeated_wrong_reveal_passwords_pause_reveal_for_that_user(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, token = make_credential()
    for _ in range(4):
        assert admin_client.post(reveal_url(credential), {"password": "guess"}).status_code == 200

    fifth = admin_client.post(reveal_url(credential), {"password": "guess"})
    after = admin_client.post(reveal_url(credential), {"password": PASSWORD})

    assert "Reveal is paused for you" in fifth.content.decode()
    assert after.status_code == 429
    assert token not in after.content.decode()
    assert AuditAction.CREDENTIAL_REVEALED not in audit_actions()
    reasons = [
        e.details["reason"]
        for e in AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVEAL_DENIED).order_by(
            "seq"
        )
    ]
    assert reasons == ["wrong password"] * 5 + ["too many attempts"]


# --- chrome ---


def test_sign_out_is_a_post_form_in_the_header(admin_client: Client) -> None:
    page = admin_client.get("/").content.decode()

    assert re.search(r'<form method="post" action="/logout/"[^>]*>\s*<input type="hidden"', page)
    assert admin_client.post("/logout/").status_code == 302
    assert admin_client.get("/").status_code == 302  # signed out: back to the login page


def test_pages_carry_no_inline_script_or_style(
    admin_client: Client, integration: Integration
) -> None:
    credential = integration.credentials.get()
    for url in ("/", "/integrations/new/", detail_url(integration), reveal_url(credential)):
        page = admin_client.get(url).content.decode()
        assert " style=" not in page, url
        for attrs in re.findall(r"<script([^>]*)>", page):
            assert "src=" in attrs or 'type="application/json"' in attrs, (url, attrs)


def test_login_page_renders_for_anonymous_visitors(client: Client, db: Any) -> None:
    response = client.get("/login/")

    assert response.status_code == 200
    assert 'name="login"' in response.content.decode()
    assert 'name="password"' in response.content.decode()
