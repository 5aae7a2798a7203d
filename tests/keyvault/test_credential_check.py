"""Live checks against a real SCIM server: scim2-server over HTTPS on 127.0.0.1, accepting one
bearer token (the ``scim`` fixture). Slack is the local stub (tests/stubs.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from keyvault.audit.sentences import event_sentence
from keyvault.models import AuditAction, AuditEvent, Credential
from keyvault.rotation.services import credential_revoke
from keyvault.tasks import check_credential
from keyvault.vault import checks
from keyvault.vault.check_models import CheckStatus, CredentialCheck
from keyvault.vault.check_selectors import credentials_to_check
from tests.factories import NOW, MakeCredential, new_token
from tests.keyvault.test_secret_leaks import database_dumps, leaks, secret_windows
from tests.scim_server import ScimServer


def scim_credential(
    make_credential: MakeCredential, scim: ScimServer, *, token: str | None = None
) -> Credential:
    credential, _ = make_credential(
        name="Directory — acme (Okta SCIM)",
        provider="generic_scim",
        scim_url=scim.base_url,
        token=token or scim.token,
    )
    return credential


def test_a_key_the_vendor_accepts_is_valid(
    make_credential: MakeCredential, scim: ScimServer, admin_user: Any
) -> None:
    credential = scim_credential(make_credential, scim)

    check = checks.credential_check(credential=credential, actor=admin_user, now=NOW)

    credential.refresh_from_db()
    assert (credential.check_status, credential.checked_at) == (CheckStatus.VALID, NOW)
    assert (check.status, check.http_status, check.checked_by) == ("valid", 200, admin_user)
    assert check.latency_ms is not None and check.latency_ms < 1000
    assert scim.requests == [("GET", "/v2/Users?startIndex=1&count=1", f"Bearer {scim.token}")]


@pytest.mark.django_db(transaction=True)
def test_the_token_is_in_no_log_page_or_stored_row(
    make_credential: MakeCredential,
    scim: ScimServer,
    admin_client: Any,
    auditor_client: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = new_token()
    credential = scim_credential(make_credential, scim)
    other = scim_credential_named(make_credential, scim, token=wrong)
    detail = f"/integrations/{credential.integration_id}/"

    admin_client.post(f"{detail}check/")
    admin_client.post(f"/integrations/{other.integration_id}/check/")
    answer = admin_client.post(
        f"/integrations/{credential.integration_id}/rotate/check/", {"token": wrong}
    )
    with pytest.raises(SystemExit):
        call_command("check_credentials")  # one is rejected
    pages = [
        answer.content.decode(),
        admin_client.get(detail).content.decode(),
        auditor_client.get(detail).content.decode(),
        admin_client.get("/").content.decode(),
        admin_client.get("/audit/").content.decode(),
    ]

    pieces = secret_windows(scim.token, wrong)
    assert answer.json()["result"] == "rejected"
    for page in pages:
        assert leaks(page, pieces) == []
    assert leaks(caplog.text + "".join(capsys.readouterr()), pieces) == []
    stored = [str(list(CredentialCheck.objects.values())), str(list(AuditEvent.objects.values()))]
    assert leaks("".join(stored), pieces) == []
    for label, dump in database_dumps().items():
        assert leaks(dump, pieces) == [], label


def scim_credential_named(
    make_credential: MakeCredential, scim: ScimServer, *, token: str
) -> Credential:
    credential, _ = make_credential(
        name="Second directory", provider="generic_scim", scim_url=scim.base_url, token=token
    )
    return credential


def test_a_check_a_person_runs_is_audited_with_its_result(
    make_credential: MakeCredential, scim: ScimServer, admin_user: Any
) -> None:
    credential = scim_credential(make_credential, scim)

    checks.credential_check(credential=credential, actor=admin_user, now=NOW)
    checks.credential_check(credential=credential, actor=admin_user, now=NOW)

    events = AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_CHECKED)
    assert events.count() == 2
    event = events.first()
    assert event is not None
    assert event.details["result"] == "valid" and event.details["http_status"] == 200
    assert event_sentence(event) == (
        f"alice checked the Directory — acme (Okta SCIM) key ····{credential.hint} "
        "with the vendor: valid (HTTP 200)"
    )


def test_the_scheduled_check_is_audited_only_when_the_result_changes(
    make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)

    for day in range(3):
        checks.credential_check(credential=credential, actor=None, now=NOW + timedelta(days=day))
    scim.stop()
    checks.credential_check(credential=credential, actor=None, now=NOW + timedelta(days=3))

    results = list(
        AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_CHECKED)
        .order_by("seq")
        .values_list("details__result", flat=True)
    )
    assert results == ["valid", "unreachable"]
    assert CredentialCheck.objects.filter(credential=credential).count() == 4


def test_a_provider_without_a_safe_read_has_no_live_check(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential(provider="okta", scim_url="")
    events = AuditEvent.objects.count()

    with pytest.raises(checks.LiveCheckUnavailable, match="No live check for this provider"):
        checks.credential_check(credential=credential, actor=admin_user, now=NOW)

    assert not CredentialCheck.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_pasted_replacement_is_tested_without_storing_it(
    make_credential: MakeCredential, scim: ScimServer, admin_user: Any
) -> None:
    credential = scim_credential(make_credential, scim, token=new_token())
    replacement = scim.token

    result = checks.replacement_check(
        credential=credential, scim_url="", token=replacement, actor=admin_user, now=NOW
    )

    assert (result.status, result.http_status) == (CheckStatus.VALID, 200)
    assert not CredentialCheck.objects.exists()
    credential.refresh_from_db()
    assert credential.check_status == ""
    event = AuditEvent.objects.get(action=AuditAction.REPLACEMENT_CHECKED)
    assert replacement not in str(event.details)
    assert event_sentence(event).endswith("with the vendor: valid (HTTP 200)")


def test_the_command_checks_each_current_key_and_fails_when_one_is_rejected(
    make_credential: MakeCredential, scim: ScimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scim_credential(make_credential, scim)
    scim_credential_named(make_credential, scim, token=new_token())
    make_credential(name="Okta admin API", provider="okta", scim_url="")

    with pytest.raises(SystemExit) as exited:
        call_command("check_credentials")

    out = capsys.readouterr().out
    assert exited.value.code == 1
    assert f"Directory — acme (Okta SCIM) ····{good.hint}: Valid" in out
    assert "Second directory" in out and "Rejected" in out
    assert "Okta admin API" not in out
    assert out.rstrip().endswith("1 valid, 1 rejected, 0 unreachable, 0 not checked.")


def test_the_command_checks_one_integration_and_names_one_it_cannot_check(
    make_credential: MakeCredential, scim: ScimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scim_credential(make_credential, scim)
    scim_credential_named(make_credential, scim, token=new_token())
    okta, _ = make_credential(name="Okta admin API", provider="okta", scim_url="")

    call_command("check_credentials", "--integration", str(good.integration_id))
    with pytest.raises(CommandError, match="no live check for this provider"):
        call_command("check_credentials", "--integration", str(okta.integration_id))

    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith("1 valid, 0 rejected, 0 unreachable, 0 not checked.")
    )


def test_the_daily_job_checks_current_keys_by_id(
    make_credential: MakeCredential, scim: ScimServer
) -> None:
    credential = scim_credential(make_credential, scim)
    revoked = scim_credential_named(make_credential, scim, token=new_token())
    credential_revoke(credential=revoked, reason="left", actor=None, now=NOW)

    assert list(credentials_to_check()) == [credential]
    assert check_credential(str(credential.pk)) == "valid"
    assert check_credential(str(revoked.pk)) == ""
    assert not CredentialCheck.objects.filter(credential=revoked).exists()
