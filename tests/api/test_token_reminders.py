"""An API token's owner is reminded of its expiry like a credential's: at the thresholds, the
most urgent one when several were crossed, once each, audited; never for a revoked token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail

from keyvault.api.models import ApiToken
from keyvault.api.reminders import api_tokens_remind
from keyvault.api.tokens import api_token_revoke
from keyvault.models import AuditAction, AuditEvent
from tests.api.conftest import MakeToken
from tests.factories import NOW


def _owner_with_email(user: Any) -> Any:
    user.email = "alice@example.com"
    user.save(update_fields=["email"])
    return user


def test_the_owner_is_emailed_at_each_threshold_once(
    make_token: MakeToken, admin_user: Any
) -> None:
    _owner_with_email(admin_user)
    token, raw = make_token(name="terraform", now=NOW, expires_at=NOW + timedelta(days=40))

    assert api_tokens_remind(now=NOW) == 0
    assert api_tokens_remind(now=NOW + timedelta(days=10, hours=1)) == 1  # 30 days left
    assert api_tokens_remind(now=NOW + timedelta(days=10, hours=2)) == 0
    assert api_tokens_remind(now=NOW + timedelta(days=33)) == 1  # 7 days left

    assert [m.to for m in mail.outbox] == [["alice@example.com"]] * 2
    assert "“terraform” expires in 30 days" in mail.outbox[0].subject
    assert "expires in 7 days" in mail.outbox[1].subject
    assert "/account/tokens/" in mail.outbox[1].body and token.prefix in mail.outbox[1].body
    assert raw not in mail.outbox[1].body
    reminded = AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REMINDED)
    assert [e.details["threshold"] for e in reminded.order_by("seq")] == [30, 7]


def test_only_the_most_urgent_of_several_crossed_thresholds_is_sent(
    make_token: MakeToken, admin_user: Any
) -> None:
    _owner_with_email(admin_user)
    token, _ = make_token(now=NOW, expires_at=NOW + timedelta(days=2))

    assert api_tokens_remind(now=NOW) == 1

    assert "expires in 2 days" in mail.outbox[0].subject
    token.refresh_from_db()
    assert token.reminded_days == 3


def test_the_last_reminder_goes_out_on_the_expiry_day(
    make_token: MakeToken, admin_user: Any
) -> None:
    _owner_with_email(admin_user)
    make_token(now=NOW, expires_at=NOW + timedelta(days=1, hours=12))
    api_tokens_remind(now=NOW)

    assert api_tokens_remind(now=NOW + timedelta(days=1, hours=1)) == 1
    assert "expires today" in mail.outbox[-1].subject
    assert api_tokens_remind(now=NOW + timedelta(days=2)) == 0  # expired: nothing more


def test_revoked_tokens_and_owners_without_email_get_none(
    make_token: MakeToken, admin_user: Any, auditor_user: Any
) -> None:
    token, _ = make_token(now=NOW, expires_at=NOW + timedelta(days=5))
    make_token(user=auditor_user, scopes=["read"], now=NOW, expires_at=NOW + timedelta(days=5))
    _owner_with_email(admin_user)
    api_token_revoke(token=token, actor=admin_user, now=NOW)

    assert api_tokens_remind(now=NOW) == 0
    assert not mail.outbox


def test_a_failed_send_is_tried_again_by_the_next_run(
    make_token: MakeToken, admin_user: Any, smtp: Any
) -> None:
    _owner_with_email(admin_user)
    token, _ = make_token(now=NOW, expires_at=NOW + timedelta(days=5))
    smtp.refuse("421 4.3.0 Try again later", times=1)

    assert api_tokens_remind(now=NOW) == 0
    assert ApiToken.objects.get(pk=token.pk).reminded_days is None
    assert not AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REMINDED).exists()

    assert api_tokens_remind(now=NOW) == 1
    assert len(smtp.messages) == 1
