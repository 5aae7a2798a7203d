"""Pasted secrets end up encrypted and nowhere else.

A secret "leaks" when any 8-character piece of it shows up: in the database file, in an SQL
dump, in a log record, in any page but the reveal response, in an error page or error email.
The one exception is public text: every Atlassian URL starts with
``https://api.atlassian.com/scim/directory/``, which the paste page shows as the expected
shape, so pieces that occur in a provider's published URL example are not secret. Everything
else in the URL (the directory id) and every piece of the token are.

The one page that may hold a URL is the paste form shown again to the person who just typed it
(so a typo costs no retyping); the token is never on it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from keyvault.models import Credential, Integration
from keyvault.vault.providers import PROVIDERS
from tests.factories import NOW, PASSWORD, new_token
from tests.keyvault.test_forms import paste_data

WINDOW = 8
CLEANSED = "********************"


def windows(text: str) -> set[str]:
    return {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)}


PUBLIC_WINDOWS = set().union(*(windows(p.url_example) for p in PROVIDERS.values()))


def secret_windows(*values: str) -> set[str]:
    """Every 8-character piece of ``values`` that is not public provider URL text."""
    return set().union(*(windows(v) for v in values)) - PUBLIC_WINDOWS


def leaks(haystack: str | bytes, pieces: Iterable[str]) -> list[str]:
    if isinstance(haystack, bytes):
        return sorted(p for p in pieces if p.encode() in haystack)
    return sorted(p for p in pieces if p in haystack)


def atlassian_url() -> str:
    return f"https://api.atlassian.com/scim/directory/{uuid.uuid4()}"


def generic_scim_url() -> str:
    return f"https://{secrets.token_hex(6)}.scim.example/v2/{secrets.token_urlsafe(12)}"


# --- reading the database back ---


def sqlite_file_bytes() -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(connection.settings_dict["NAME"])
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


def postgres_rows_as_text() -> Iterator[str]:
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from the database itself, quoted.
            table_sql = connection.ops.quote_name(table)
            cursor.execute(f"SELECT CAST(t AS text) FROM {table_sql} AS t")  # noqa: S608
            for (row,) in cursor.fetchall():
                yield row


def pg_dump_text() -> str:
    s = connection.settings_dict
    command = ["pg_dump", "--no-owner", "--dbname", s["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if s.get(key):
            command += [flag, str(s[key])]
    env = {"PGPASSWORD": s["PASSWORD"]} if s.get("PASSWORD") else {}
    result = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**_path_env(), **env}
    )
    return result.stdout


def _path_env() -> dict[str, str]:
    import os

    return {"PATH": os.environ.get("PATH", "")}


def database_dumps() -> dict[str, str | bytes]:
    """Everything the database holds, in the forms an attacker with a copy would read."""
    if connection.vendor == "sqlite":
        dump = "\n".join(connection.connection.iterdump())
        return {"database file": sqlite_file_bytes(), "SQL dump": dump}
    dumps: dict[str, str | bytes] = {"every row as text": "\n".join(postgres_rows_as_text())}
    if shutil.which("pg_dump"):
        dumps["pg_dump"] = pg_dump_text()
    return dumps


# --- the journey ---


@pytest.fixture
def debug_sql(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log record at DEBUG, including each SQL statement with its parameters."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = False


@pytest.mark.django_db(transaction=True)
def test_pasted_secrets_are_only_ever_stored_encrypted_and_shown_on_reveal(
    admin_user: Any, caplog: pytest.LogCaptureFixture, debug_sql: None
) -> None:
    token_a, url_a = new_token(), atlassian_url()
    token_b, url_b = new_token(), generic_scim_url()
    pieces = secret_windows(token_a, url_a, token_b, url_b)
    assert len(pieces) > 4 * 40  # the check below has something to look for

    pages: dict[str, str] = {}
    client = Client()

    def keep(label: str, response: Any) -> Any:
        pages[label] = response.content.decode()
        return response

    with time_machine.travel(NOW, tick=False):
        keep("login form", client.get("/login/"))
        keep("sign-in", client.post("/login/", {"login": "alice", "password": PASSWORD}))
        keep("paste form", client.get("/integrations/new/"))
        keep(
            "paste form shown again",
            client.post("/integrations/new/", paste_data(name="", token=token_a, scim_url=url_a)),
        )
        keep(
            "paste with a bad token",
            client.post(
                "/integrations/new/",
                paste_data(name="Bad", token=token_a + " x", scim_url=url_a),
            ),
        )
        created = client.post(
            "/integrations/new/", paste_data(name="A", token=f" {token_a}\n", scim_url=url_a)
        )
        assert created.status_code == 302
        keep("detail after create", client.get(created["Location"]))
        keep(
            "duplicate paste",
            client.post("/integrations/new/", paste_data(name="A2", token=token_a, scim_url=url_a)),
        )
        created_b = client.post(
            "/integrations/new/",
            paste_data(name="B", provider="generic_scim", token=token_b, scim_url=url_b),
        )
        assert created_b.status_code == 302
        keep("dashboard", client.get("/"))
        keep("search", client.get("/", {"q": "a"}))
        integration = Integration.objects.get(name="A")
        credential = Credential.objects.get(integration=integration)
        edit_url = reverse("keyvault:integration_edit", kwargs={"integration_id": integration.pk})
        keep("edit form", client.get(edit_url))
        keep(
            "edit",
            client.post(
                edit_url,
                {"name": "A", "provider": "atlassian", "identity_provider": "okta", "owner": "X"},
                follow=True,
            ),
        )
        reveal_url = reverse("keyvault:credential_reveal", kwargs={"credential_id": credential.pk})
        keep("reveal form", client.get(reveal_url))
        keep("reveal, wrong password", client.post(reveal_url, {"password": "nope"}))
        revealed = client.post(reveal_url, {"password": PASSWORD})
        keep("404", client.get("/integrations/00000000-0000-0000-0000-000000000000/"))

    # The reveal response is the one place the secret is shown: proves the search works.
    assert token_a in revealed.content.decode()
    assert url_a in revealed.content.decode()
    assert leaks(revealed.content.decode(), pieces)

    token_pieces = secret_windows(token_a, token_b)
    typed_again = {"paste form shown again", "paste with a bad token", "duplicate paste"}
    for label, page in pages.items():
        assert leaks(page, token_pieces if label in typed_again else pieces) == [], label
    for label in typed_again:
        assert f'value="{url_a}"' in pages[label], label  # back in its own field, nowhere else
        assert pages[label].count(url_a) == 1, label
    log_text = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "INSERT INTO" in log_text  # SQL statements and their parameters were captured
    assert leaks(log_text, pieces) == []
    for label, dump in database_dumps().items():
        assert leaks(dump, pieces) == [], label
    assert credential.unseal("token_ciphertext") == token_a


# --- errors while a secret is being posted ---


@pytest.fixture
def refuse_credential_audit(db: Any) -> None:
    """Make the database refuse the audit row written right after a credential is inserted.

    The failure happens deep in ``integration_create``, with the plaintext still in memory.
    Created inside the test's transaction, so it is rolled back with it.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER kv_test_refuse BEFORE INSERT ON keyvault_auditevent "
                "WHEN NEW.action = 'credential.created' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION kv_test_refuse() RETURNS trigger AS $$ BEGIN "
                "IF NEW.action = 'credential.created' THEN "
                "RAISE EXCEPTION 'refused by the test trigger'; END IF; "
                "RETURN NEW; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER kv_test_refuse BEFORE INSERT ON keyvault_auditevent "
                "FOR EACH ROW EXECUTE FUNCTION kv_test_refuse()"
            )


def post_paste_that_fails(admin_user: Any, token: str, url: str) -> Any:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        return client.post("/integrations/new/", paste_data(name="Boom", token=token, scim_url=url))


@override_settings(ADMINS=[("Ops", "ops@example.com")])
def test_an_error_while_pasting_keeps_the_secret_out_of_the_page_the_email_and_the_logs(
    admin_user: Any, refuse_credential_audit: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, url = new_token(), atlassian_url()
    pieces = secret_windows(token, url)

    response = post_paste_that_fails(admin_user, token, url)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert not Integration.objects.filter(name="Boom").exists()
    [email] = mail.outbox
    assert "refused by the test trigger" in email.body  # it is the report of our failure
    assert f"token = '{CLEANSED}'" in email.body  # the POST section is there, cleansed
    report = email.body + "".join(str(content) for content, _ in email.alternatives)
    assert leaks(report, pieces) == []
    assert leaks(response.content.decode(), pieces) == []
    assert "refused by the test trigger" in caplog.text
    assert leaks(caplog.text, pieces) == []


@override_settings(DEBUG=True)
def test_the_debug_error_page_hides_the_posted_secret_and_the_views_variables(
    admin_user: Any, refuse_credential_audit: None
) -> None:
    token, url = new_token(), atlassian_url()
    pieces = secret_windows(token, url)

    response = post_paste_that_fails(admin_user, token, url)

    page = response.content.decode()
    assert response.status_code == 500
    assert "refused by the test trigger" in page  # Django's technical 500 page
    assert page.count(CLEANSED) >= 2  # POST parameters and frame variables cleansed
    assert leaks(page, pieces) == []


# --- a key typed where a reason goes ---


def _rotate_data(credential: Credential, reason: str) -> dict[str, str]:
    return {
        "credential": str(credential.pk),
        "token": new_token(),
        "reason": reason,
        "idp_updated": "yes",
    }


def _revoke_data(credential: Credential, reason: str) -> dict[str, str]:
    return {"credential": str(credential.pk), "reason": reason}


def _dates_data(credential: Credential, reason: str) -> dict[str, str]:
    return {
        "credential": str(credential.pk),
        "issued_on": "2026-03-01",
        "expires_on": "2027-02-01",
        "reason": reason,
    }


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("keyvault:credential_rotate", _rotate_data),
        ("keyvault:credential_revoke", _revoke_data),
        ("keyvault:credential_dates_correct", _dates_data),
    ],
)
@pytest.mark.parametrize("part", ["whole", "half"])
def test_a_key_typed_as_the_reason_is_refused_and_not_sent_back(
    admin_client: Client, make_credential: Any, url_name: str, data: Any, part: str
) -> None:
    """The reason goes to the audit log: a key in it is refused (the whole key by its
    fingerprint, a part of it by comparison) and the form comes back with the reason empty."""
    credential, token = make_credential(name="Acme")
    typed = token if part == "whole" else token[: len(token) // 2]
    url = reverse(url_name, kwargs={"integration_id": credential.integration_id})

    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(url, data(credential, f"pasted by mistake {typed}"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "This looks like the key" in page
    assert leaks(page, secret_windows(token)) == []
    credential.refresh_from_db()
    assert credential.state == "current"


def test_the_lifecycle_pages_never_hold_the_secret(
    admin_client: Client, make_credential: Any, admin_user: Any
) -> None:
    """Rotate (with its runbook), "not yet" and Confirm IdP updated, Correct dates, the
    Reminders card, unconfirmed expiry, Archive and the archived list: metadata only."""
    from keyvault.rotation.services import credential_rotate, rotation_secret_clean

    url = atlassian_url()
    legacy, legacy_token = make_credential(name="Legacy", scim_url=url, expiry_unknown=True)
    old, old_token = make_credential(name="Acme", scim_url=atlassian_url())
    new = new_token()
    with time_machine.travel(NOW, tick=False):
        secret = rotation_secret_clean(
            credential=old, scim_url="", token=new, expires_at=None, now=NOW
        )
        credential_rotate(
            credential=old, secret=secret, actor=admin_user, now=NOW, reason="", idp_updated=False
        )
    pieces = secret_windows(url, legacy_token, old_token, new)
    acme, gone = old.integration_id, legacy.integration_id
    current = Credential.objects.get(integration_id=acme, state="current")

    def at(name: str, integration_id: Any) -> str:
        return reverse(name, kwargs={"integration_id": integration_id})

    pages: dict[str, Any] = {}
    with time_machine.travel(NOW, tick=False):
        for name in ("integration_detail", "credential_rotate", "integration_history"):
            pages[name] = admin_client.get(at(f"keyvault:{name}", acme))
        pages["dashboard slices"] = admin_client.get("/", {"show": "idp_pending"})
        pages["unconfirmed slice"] = admin_client.get("/", {"show": "unconfirmed"})
        pages["idp confirmed"] = admin_client.post(
            at("keyvault:credential_idp_confirm", acme),
            {"credential": str(current.pk)},
            follow=True,
        )
        pages["legacy detail"] = admin_client.get(at("keyvault:integration_detail", gone))
        pages["correct dates"] = admin_client.get(at("keyvault:credential_dates_correct", gone))
        pages["correct dates refused"] = admin_client.post(
            at("keyvault:credential_dates_correct", gone),
            {"credential": str(legacy.pk), "issued_on": "2026-03-01", "expires_on": "2026-01-01"},
        )
        pages["archived"] = admin_client.post(at("keyvault:integration_archive", gone), follow=True)
        pages["archived list"] = admin_client.get(reverse("keyvault:integrations_archived"))

    for label, response in pages.items():
        assert response.status_code == 200, label
        assert leaks(response.content.decode(), pieces) == [], label
    assert "How to rotate" in pages["credential_rotate"].content.decode()
    assert "Reminders" in pages["integration_detail"].content.decode()
