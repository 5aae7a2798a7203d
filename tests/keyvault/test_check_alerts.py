"""A key the vendor rejects at a live check raises the "rejected by the vendor" alert at once,
through the integration's channels, once per check that turned it rejected; a vendor that is
down raises nothing. Real SCIM server (``scim`` fixture) and Slack stub on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts.models import Notice, NoticeKind
from alerts.notices import notice_deliver
from keyvault.vault import checks
from keyvault.vault.check_models import CheckStatus
from tests.factories import NOW, MakeCredential, new_token, slack_channel_make
from tests.keyvault.test_credential_check import scim_credential
from tests.scim_server import ScimServer
from tests.stubs import SlackStub


def test_a_key_the_vendor_refuses_is_rejected_and_alerts_slack_once(
    make_credential: MakeCredential, scim: ScimServer, slack: SlackStub, admin_user: Any
) -> None:
    credential = scim_credential(make_credential, scim, token=new_token())
    slack_channel_make(name="#it-ops", url=slack.webhook_url())

    first = checks.credential_check(credential=credential, actor=admin_user, now=NOW)
    later = checks.credential_check(credential=credential, actor=None, now=NOW)
    for notice in Notice.objects.all():
        notice_deliver(notice_id=notice.pk, now=NOW)

    credential.refresh_from_db()
    assert (first.status, first.http_status, later.status) == ("rejected", 401, "rejected")
    assert credential.check_status == CheckStatus.REJECTED
    assert "regenerated or revoked?" in first.message
    (notice,) = Notice.objects.all()
    assert (notice.kind, notice.key) == (NoticeKind.CHECK_REJECTED, str(first.pk))
    assert len(slack.requests) == 1


def test_a_key_rejected_again_after_being_valid_alerts_again(
    make_credential: MakeCredential, scim: ScimServer, slack: SlackStub
) -> None:
    credential = scim_credential(make_credential, scim)
    slack_channel_make(name="#it-ops", url=slack.webhook_url())
    stored = scim.token
    scim.regenerate()  # somebody regenerated the key at the vendor: the stored one is dead
    checks.credential_check(credential=credential, actor=None, now=NOW)
    scim.regenerate(stored)  # (a lab can bring it back; a vendor would not)
    checks.credential_check(credential=credential, actor=None, now=NOW + timedelta(days=1))
    scim.regenerate()
    checks.credential_check(credential=credential, actor=None, now=NOW + timedelta(days=2))

    assert Notice.objects.filter(kind=NoticeKind.CHECK_REJECTED).count() == 2


def test_a_vendor_that_is_down_is_unreachable_and_alerts_nobody(
    make_credential: MakeCredential, scim: ScimServer, slack: SlackStub
) -> None:
    credential = scim_credential(make_credential, scim)
    slack_channel_make(name="#it-ops", url=slack.webhook_url())
    scim.stop()

    check = checks.credential_check(credential=credential, actor=None, now=NOW)

    credential.refresh_from_db()
    assert credential.check_status == CheckStatus.UNREACHABLE
    assert (check.status, check.http_status) == ("unreachable", None)
    assert "refused" in check.detail
    assert not Notice.objects.exists()
    assert slack.requests == []
