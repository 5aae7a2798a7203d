"""Rotation, revocation and grace-period destruction (services)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from keyvault.audit.chain import audit_verify
from keyvault.models import AuditAction, AuditEvent, Credential, CredentialState, Rotation
from keyvault.rotation.services import (
    credential_revoke,
    credential_rotate,
    credentials_destroy_expired_grace,
    rotation_secret_clean,
)
from keyvault.rotation.signals import credential_retired
from keyvault.tasks import destroy_retired_secrets
from keyvault.vault.credentials import credential_create, secret_input_clean
from keyvault.vault.leaks import LOOKS_LIKE_KEY
from keyvault.vault.services import RevealError, credential_reveal
from tests.factories import ATLASSIAN_URL, NOW, MakeCredential, new_token, run_concurrently

OTHER_URL = "https://api.atlassian.com/scim/directory/11111111-2222-4333-8444-555555555555"


@pytest.fixture
def retired() -> Iterator[list[dict[str, Any]]]:
    """Records every ``credential_retired`` signal sent during the test."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    credential_retired.connect(receiver, weak=False, dispatch_uid="test-retired")
    yield received
    credential_retired.disconnect(dispatch_uid="test-retired")


def _replacement(credential: Credential, *, now: Any = NOW, scim_url: str = "", **kw: Any) -> Any:
    return rotation_secret_clean(
        credential=credential,
        scim_url=scim_url,
        token=kw.pop("token", None) or new_token(),
        expires_at=kw.pop("expires_at", None),
        now=now,
    )


def test_rotation_makes_the_new_version_current_and_supersedes_the_old(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential(expires_at=NOW + timedelta(days=30))
    when = NOW + timedelta(days=23)
    secret = _replacement(old, now=when)

    rotation = credential_rotate(
        credential=old,
        secret=secret,
        actor=admin_user,
        now=when,
        reason="Yearly rotation",
        idp_updated=True,
    )

    old.refresh_from_db()
    new = rotation.new_credential
    new.refresh_from_db()
    assert old.state == CredentialState.SUPERSEDED
    assert old.superseded_at == when
    assert new.state == CredentialState.CURRENT
    assert new.issued_at == when
    assert new.created_by == admin_user
    assert rotation.old_credential == old
    assert rotation.rotated_by == admin_user
    assert rotation.reason == "Yearly rotation"
    assert rotation.idp_updated is True
    assert rotation.lead_time_days == 7
    assert rotation.on_time
    assert list(Credential.objects.filter(integration=old.integration, state="current")) == [new]
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_ROTATED)
    assert event.integration_id == old.integration_id
    assert event.target_id == str(new.pk)
    assert event.details["lead_time_days"] == 7
    assert event.details["idp_updated"] is True
    assert event.details["old_hint"] == old.hint


def test_rotation_with_a_blank_url_keeps_the_current_url(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()
    rotation = credential_rotate(
        credential=old, secret=_replacement(old), actor=admin_user, now=NOW
    )
    assert rotation.new_credential.unseal("scim_url_ciphertext") == ATLASSIAN_URL


def test_rotation_can_change_the_url(make_credential: MakeCredential, admin_user: Any) -> None:
    old, _ = make_credential()
    secret = _replacement(old, scim_url=OTHER_URL)
    rotation = credential_rotate(credential=old, secret=secret, actor=admin_user, now=NOW)
    assert rotation.new_credential.unseal("scim_url_ciphertext") == OTHER_URL


def test_replacement_follows_the_same_input_rules_as_a_first_paste(
    make_credential: MakeCredential,
) -> None:
    old, token = make_credential()
    with pytest.raises(ValidationError) as exc:
        _replacement(old, scim_url="http://api.atlassian.com/scim/directory/x", token=token)
    assert set(exc.value.message_dict) == {"scim_url", "token"}
    assert "already stored" in exc.value.message_dict["token"][0]
    with pytest.raises(ValidationError) as exc:
        _replacement(old, token="abc def")
    assert "space" in exc.value.message_dict["token"][0]


def test_rotated_late_records_a_negative_lead_time(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential(expires_at=NOW + timedelta(days=10))
    when = NOW + timedelta(days=13)
    rotation = credential_rotate(
        credential=old, secret=_replacement(old, now=when), actor=admin_user, now=when
    )
    assert rotation.lead_time_days == -3
    assert not rotation.on_time


def test_rotation_sends_credential_retired_with_the_old_credential(
    make_credential: MakeCredential, admin_user: Any, retired: list[dict[str, Any]]
) -> None:
    old, _ = make_credential()
    credential_rotate(credential=old, secret=_replacement(old), actor=admin_user, now=NOW)
    assert len(retired) == 1
    assert retired[0]["credential"].pk == old.pk
    assert retired[0]["credential"].state == CredentialState.SUPERSEDED
    assert retired[0]["now"] == NOW


def test_a_failing_signal_receiver_rolls_the_whole_rotation_back(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()

    def explode(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    credential_retired.connect(explode, weak=False, dispatch_uid="test-explode")
    try:
        with pytest.raises(RuntimeError):
            credential_rotate(credential=old, secret=_replacement(old), actor=admin_user, now=NOW)
    finally:
        credential_retired.disconnect(dispatch_uid="test-explode")
    old.refresh_from_db()
    assert old.state == CredentialState.CURRENT
    assert Credential.objects.count() == 1
    assert not Rotation.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_ROTATED).exists()


def test_rotating_a_version_that_is_no_longer_current_is_refused(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()
    credential_rotate(credential=old, secret=_replacement(old), actor=admin_user, now=NOW)
    stale = _replacement(old)
    with pytest.raises(ValidationError) as exc:
        credential_rotate(credential=old, secret=stale, actor=admin_user, now=NOW)
    assert "no longer be rotated" in exc.value.message_dict["__all__"][0]
    assert "superseded" in exc.value.message_dict["__all__"][0]
    assert Credential.objects.count() == 2
    assert Rotation.objects.count() == 1


def test_a_reason_containing_the_token_is_refused(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, old_token = make_credential()
    token = new_token()
    secret = _replacement(old, token=token)
    for reason in (f"new one is {token}", f"old was {old_token} oops"):
        with pytest.raises(ValidationError) as exc:
            credential_rotate(
                credential=old, secret=secret, actor=admin_user, now=NOW, reason=reason
            )
        assert exc.value.message_dict["reason"] == [LOOKS_LIKE_KEY]
    assert Credential.objects.count() == 1


def test_revoke_marks_the_credential_revoked_audits_and_signals(
    make_credential: MakeCredential, admin_user: Any, retired: list[dict[str, Any]]
) -> None:
    credential, _ = make_credential()
    credential_revoke(credential=credential, reason="Leaked in a ticket", actor=admin_user, now=NOW)
    credential.refresh_from_db()
    assert credential.state == CredentialState.REVOKED
    assert credential.revoked_at == NOW
    assert credential.revoke_reason == "Leaked in a ticket"
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIAL_REVOKED)
    assert event.details["reason"] == "Leaked in a ticket"
    assert event.actor == admin_user
    assert [r["credential"].pk for r in retired] == [credential.pk]


def test_revoke_needs_a_reason_and_a_current_credential(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential()
    with pytest.raises(ValidationError) as exc:
        credential_revoke(credential=credential, reason="  ", actor=admin_user, now=NOW)
    assert "reason" in exc.value.message_dict
    credential.refresh_from_db()
    assert credential.state == CredentialState.CURRENT
    credential_revoke(credential=credential, reason="done", actor=admin_user, now=NOW)
    with pytest.raises(ValidationError) as exc:
        credential_revoke(credential=credential, reason="again", actor=admin_user, now=NOW)
    assert "revoked" in exc.value.message_dict["__all__"][0]
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_REVOKED).count() == 1


def test_after_revoking_an_admin_can_add_a_new_current_credential(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential()
    credential_revoke(credential=credential, reason="compromised", actor=admin_user, now=NOW)
    secret = secret_input_clean(
        provider=credential.integration.provider,
        scim_url=ATLASSIAN_URL,
        token=new_token(),
        issued_at=NOW,
        expires_at=None,
    )
    new = credential_create(
        integration=credential.integration, secret=secret, actor=admin_user, now=NOW
    )
    assert new.state == CredentialState.CURRENT
    credential.refresh_from_db()
    assert credential.state == CredentialState.REVOKED


def test_old_secret_stays_revealable_during_the_grace_period_then_is_destroyed(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, old_token = make_credential()
    rotation = credential_rotate(
        credential=old, secret=_replacement(old), actor=admin_user, now=NOW
    )
    grace = timedelta(days=settings.KEYVAULT_ROTATION_GRACE_DAYS)

    assert credentials_destroy_expired_grace(now=NOW + grace - timedelta(minutes=1)) == 0
    old.refresh_from_db()
    assert credential_reveal(credential=old, actor=admin_user, now=NOW).token == old_token

    assert credentials_destroy_expired_grace(now=NOW + grace) == 1
    old.refresh_from_db()
    assert old.destroyed_at == NOW + grace
    assert bytes(old.token_ciphertext) == b""
    assert bytes(old.scim_url_ciphertext) == b""
    # Metadata is kept.
    assert old.state == CredentialState.SUPERSEDED
    assert old.hint == old_token[-4:]
    assert len(old.fingerprint) == 64
    assert old.superseded_at == NOW
    with pytest.raises(RevealError, match="destroyed"):
        credential_reveal(credential=old, actor=admin_user, now=NOW + grace)
    # The current version is untouched and a second run finds nothing left.
    current = rotation.new_credential
    current.refresh_from_db()
    assert current.token_ciphertext and current.destroyed_at is None
    assert credentials_destroy_expired_grace(now=NOW + grace + timedelta(days=1)) == 0
    destroyed = AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_DESTROYED)
    assert [e.target_id for e in destroyed] == [str(old.pk)]
    assert destroyed[0].actor_label == "system"
    assert audit_verify().ok


def test_revoked_secrets_are_destroyed_after_the_grace_period(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    credential, _ = make_credential()
    credential_revoke(credential=credential, reason="gone", actor=admin_user, now=NOW)
    later = NOW + timedelta(days=settings.KEYVAULT_ROTATION_GRACE_DAYS, seconds=1)
    assert credentials_destroy_expired_grace(now=later) == 1
    credential.refresh_from_db()
    assert bytes(credential.token_ciphertext) == b"" and credential.destroyed_at == later
    assert credential.state == CredentialState.REVOKED


def test_destruction_task_calls_the_service(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()
    credential_rotate(
        credential=old,
        secret=_replacement(old, now=NOW - timedelta(days=400)),
        actor=admin_user,
        now=NOW - timedelta(days=400),
    )
    assert destroy_retired_secrets() == 1
    old.refresh_from_db()
    assert old.is_destroyed
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert any(e["task"] == destroy_retired_secrets.name for e in schedule.values())


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_rotations_have_one_winner_and_a_clear_error_for_the_other(
    make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential()
    secrets = [_replacement(old), _replacement(old)]

    def slow_receiver(sender: Any, **kwargs: Any) -> None:
        # Hold the winner's transaction open so the other rotation really waits on the lock.
        time.sleep(0.5)

    def rotate(i: int) -> Rotation:
        return credential_rotate(credential=old, secret=secrets[i], actor=admin_user, now=NOW)

    credential_retired.connect(slow_receiver, weak=False, dispatch_uid="test-slow")
    try:
        results = run_concurrently(rotate, count=2)
    finally:
        credential_retired.disconnect(dispatch_uid="test-slow")

    wins = [r for r in results if isinstance(r, Rotation)]
    losses = [r for r in results if isinstance(r, ValidationError)]
    assert len(wins) == 1, results
    assert len(losses) == 1, results
    assert "someone else changed it" in losses[0].message_dict["__all__"][0]
    winner = wins[0]
    assert list(Credential.objects.filter(state=CredentialState.CURRENT)) == [winner.new_credential]
    assert Credential.objects.count() == 2  # the loser's token was not stored
    assert Rotation.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CREDENTIAL_ROTATED).count() == 1
    assert audit_verify().ok
