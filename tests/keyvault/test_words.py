"""One date format, one word per state, the vendor's words for its fields, and grammar."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from alerts.models import NoticeKind, ReminderStatus
from alerts.notice_messages import notice_words
from keyvault.models import Credential
from keyvault.rotation import services as rotation_services
from keyvault.rotation.runbooks import runbook_for
from keyvault.vault import credentials
from keyvault.vault.expiry import Status
from keyvault.vault.lifecycle import integration_archive
from keyvault.vault.providers import PROVIDERS, IdentityProvider, ProviderKind, provider_for
from keyvault.web.dates import day_text, moment_text
from tests.factories import NOW, MakeCredential, email_channel_make, new_token, reminder_make


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def text(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_a_day_and_a_moment_read_the_same_everywhere() -> None:
    moment = datetime(2026, 3, 8, 9, 5, 7, tzinfo=UTC)
    assert day_text(moment) == "8 Mar 2026"
    assert day_text(date(2026, 3, 8)) == "8 Mar 2026"
    assert moment_text(moment) == "8 Mar 2026, 09:05"
    assert moment_text(moment, seconds=True) == "8 Mar 2026, 09:05:07"
    assert moment_text(moment, zone=True) == "8 Mar 2026, 09:05 UTC"


@override_settings(TIME_ZONE="Pacific/Auckland")
def test_a_day_is_the_local_day_of_the_instant() -> None:
    late_utc = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)  # already 9 March in Auckland
    assert day_text(late_utc) == "9 Mar 2026"
    assert moment_text(late_utc, zone=True) == "9 Mar 2026, 09:00 NZDT"
    assert late_utc.astimezone(ZoneInfo("Pacific/Auckland")).day == 9


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_templates_format_dates_only_through_the_day_and_moment_filters() -> None:
    """A ``|date`` with a format of its own would write a second date style; machine-readable
    ``datetime`` attributes (``|date:'c'``) are the one exception."""
    own_formats = [
        f"{path.relative_to(TEMPLATES)}: {match}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in re.findall(r"\|date:(['\"][^'\"]*['\"])", path.read_text())
        if match.strip("'\"") != "c"
    ]
    assert own_formats == []


def test_pages_write_dates_in_the_one_format(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(name="Acme", issued_at=NOW - timedelta(days=9))
    pages = [
        reverse("keyvault:dashboard"),
        reverse(
            "keyvault:integration_detail", kwargs={"integration_id": credential.integration_id}
        ),
        reverse(
            "keyvault:integration_history", kwargs={"integration_id": credential.integration_id}
        ),
        reverse("keyvault:credential_rotate", kwargs={"integration_id": credential.integration_id}),
        reverse("keyvault:credential_revoke", kwargs={"integration_id": credential.integration_id}),
        reverse(
            "keyvault:credential_dates_correct",
            kwargs={"integration_id": credential.integration_id},
        ),
    ]
    long_month = re.compile(
        r"\b\d{1,2} (January|February|March|April|June|July|August|September|October|November"
        r"|December) \d{4}"
    )
    for url in pages:
        page = text(admin_client.get(url))
        assert "20 Feb 2027" in page, url  # 365 days after 20 Feb 2026
        assert not long_month.search(page), url


def test_a_superseded_version_is_called_superseded_on_every_page(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential(name="Acme")
    secret = rotation_services.rotation_secret_clean(
        credential=old, scim_url="", token=new_token(), expires_at=None, now=NOW
    )
    rotation_services.credential_rotate(
        credential=old, secret=secret, actor=admin_user, now=NOW, reason="", idp_updated=True
    )
    assert Status.ROTATED.label == "Superseded"
    detail = text(
        admin_client.get(
            reverse("keyvault:integration_detail", kwargs={"integration_id": old.integration_id})
        )
    )
    assert f"····{old.hint} • Superseded" in detail
    assert "Rotated" not in detail


@pytest.mark.parametrize(
    ("kind", "url_label", "key_label"),
    [
        (ProviderKind.ATLASSIAN, "Directory base URL", "API key"),
        (ProviderKind.GENERIC_API_KEY, "API base URL", "API key"),
        (ProviderKind.ENTRA_ID, "Endpoint URL", "Client secret"),
        (ProviderKind.GENERIC_SCIM, "SCIM base URL", "Bearer token"),
    ],
)
def test_the_paste_form_labels_its_fields_in_the_providers_words(
    admin_client: Client, kind: str, url_label: str, key_label: str
) -> None:
    page = admin_client.post(reverse("keyvault:integration_create"), {"provider": kind})
    html = page.content.decode()
    assert f'for="id_scim_url" class="field__label">{url_label}<' in html
    assert f'for="id_token" class="field__label">{key_label}<' in html


def test_an_api_key_provider_never_asks_for_a_scim_base_url(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    credential, _ = make_credential(
        name="Billing API", provider=ProviderKind.GENERIC_API_KEY, scim_url=""
    )
    integration_id = credential.integration_id
    rotate = text(
        admin_client.get(
            reverse("keyvault:credential_rotate", kwargs={"integration_id": integration_id})
        )
    )
    assert "New API key" in rotate and "API base URL" in rotate
    assert "SCIM base URL" not in rotate


@pytest.mark.django_db
def test_messages_use_the_right_article_before_a_vendor_name() -> None:
    assert provider_for(ProviderKind.ATLASSIAN).a_name == "an Atlassian"
    assert provider_for(ProviderKind.OKTA).a_name == "an Okta"
    assert provider_for(ProviderKind.ONELOGIN).a_name == "a OneLogin"
    assert provider_for(ProviderKind.SLACK).a_name == "a Slack"
    with pytest.raises(ValidationError) as refused:
        credentials.secret_input_clean(
            provider=ProviderKind.ATLASSIAN,
            scim_url="https://example.com/scim",
            token=new_token(),
            issued_at=NOW,
            expires_at=None,
        )
    assert "does not look like an Atlassian URL" in str(refused.value)


def test_every_provider_names_both_of_its_fields() -> None:
    for preset in PROVIDERS.values():
        assert preset.url_label and preset.key_label
        assert "SCIM" not in preset.url_label or preset.kind != ProviderKind.GENERIC_API_KEY


LONG_MONTH = re.compile(
    r"\b\d{1,2} (January|February|March|April|June|July|August|September|October|November"
    r"|December) \d{4}"
)
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _page(client: Client, name: str, **kwargs: Any) -> str:
    return text(client.get(reverse(name, kwargs=kwargs)))


def test_the_archived_list_the_reminders_card_and_a_worst_case_date_use_the_one_format(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    acme, _ = make_credential(name="Acme", owner_email="owner@example.com")
    channel = email_channel_make(name="IT ops", recipients="ops@example.com")
    reminder_make(
        credential=acme, channel=channel, threshold=30, status=ReminderStatus.SENT, sent_at=NOW
    )
    legacy, _ = make_credential(name="Legacy", expiry_unknown=True)
    retired, _ = make_credential(name="Retired")
    integration_archive(
        integration=retired.integration, actor=admin_user, now=NOW - timedelta(days=2)
    )

    card = _page(admin_client, "keyvault:integration_detail", integration_id=acme.integration_id)
    archived = _page(admin_client, "keyvault:integrations_archived")
    worst_case = {
        name: _page(admin_client, name, integration_id=legacy.integration_id)
        for name in ("keyvault:integration_detail", "keyvault:credential_dates_correct")
    }
    worst_case["keyvault:dashboard"] = _page(admin_client, "keyvault:dashboard")

    assert "Last sent 1 Mar 2026, 09:00 · 30 days before expiry · IT ops" in card
    assert "Next due 30 Jan 2027 · 30 days before expiry" in card  # expires 1 Mar 2027
    assert "Retired Atlassian (SCIM API key) — 27 Feb 2026" in archived
    for name, page in worst_case.items():
        assert "1 May 2027" in page, name
    for label, page in {"card": card, "archived": archived, **worst_case}.items():
        assert not LONG_MONTH.search(page), label
        assert not ISO_DAY.search(page), label


def test_each_new_state_has_one_name_on_every_page_that_shows_it(
    admin_client: Client, make_credential: MakeCredential, admin_user: Any
) -> None:
    old, _ = make_credential(name="Pending")
    secret = rotation_services.rotation_secret_clean(
        credential=old, scim_url="", token=new_token(), expires_at=None, now=NOW
    )
    rotation_services.credential_rotate(
        credential=old, secret=secret, actor=admin_user, now=NOW, reason="", idp_updated=False
    )
    rejected, _ = make_credential(name="Rejected")
    Credential.objects.filter(pk=rejected.pk).update(check_status="rejected", checked_at=NOW)
    legacy, _ = make_credential(name="Legacy", expiry_unknown=True)

    dashboard = _page(admin_client, "keyvault:dashboard")
    pending = old.integration_id
    for page in (
        dashboard,
        _page(admin_client, "keyvault:integration_detail", integration_id=pending),
        _page(admin_client, "keyvault:integration_history", integration_id=pending),
    ):
        assert "IdP not updated" in page
        assert "IdP not confirmed" not in page and "IdP pending" not in page
    for page in (
        dashboard,
        _page(admin_client, "keyvault:integration_detail", integration_id=rejected.integration_id),
    ):
        assert "Rejected by the vendor" in page
    for page in (
        dashboard,
        _page(admin_client, "keyvault:integration_detail", integration_id=legacy.integration_id),
    ):
        assert "Worst case, unconfirmed" in page


def _wrong_articles(words: str) -> list[str]:
    """“a Atlassian”, “an OneLogin”: a vendor name after the article its sound does not take."""
    names = {p.name for p in PROVIDERS.values()} | {str(i.label) for i in IdentityProvider}
    names |= {"Entra ID"}
    wrong = []
    for name in sorted(names):
        vowel_sound = name[0] in "AEIOU" and not name.startswith("One")
        found = re.findall(rf"\b{'a' if vowel_sound else 'an'} {re.escape(name)}\b", words)
        wrong += found
    return wrong


def test_runbooks_and_notices_put_the_right_article_before_a_vendor_name(
    make_credential: MakeCredential,
) -> None:
    assert _wrong_articles("an Atlassian key, a Okta app, an OneLogin token") == [
        "a Okta",
        "an OneLogin",
    ]
    credential, _ = make_credential(name="Acme")
    words = []
    for kind in PROVIDERS:
        for idp in IdentityProvider:
            runbook = runbook_for(provider=kind, identity_provider=idp)
            steps = (*runbook.regenerate, *runbook.paste)
            words += [runbook.overlap_text, *runbook.notes, *(step.text for step in steps)]
            credential.integration.provider = kind  # the words only (not saved)
            credential.integration.identity_provider = idp
            for notice in NoticeKind:
                said = notice_words(kind=notice, credential=credential)
                words += [said.headline, said.explanation, said.action_label]
    assert _wrong_articles("\n".join(words)) == []


@pytest.mark.parametrize(
    ("identity_provider", "named", "never"),
    [
        ("other", "the identity provider", "Other"),
        ("none", "every place that uses the key", "None (not provisioning)"),
    ],
)
def test_an_identity_provider_without_a_name_is_named_in_words_on_the_rotate_page_and_notices(
    admin_client: Client,
    make_credential: MakeCredential,
    identity_provider: str,
    named: str,
    never: str,
) -> None:
    credential, _ = make_credential(name="Acme", identity_provider=identity_provider)
    rotate = _page(
        admin_client, "keyvault:credential_rotate", integration_id=credential.integration_id
    )
    notice = notice_words(kind=NoticeKind.IDP_NOT_UPDATED, credential=credential)

    assert f"{named} fails until it has the new key" in rotate
    assert never not in rotate
    assert notice.headline == f"Acme: {named} not yet updated with the new key"
    assert never not in notice.explanation
    if identity_provider == "none":
        assert "How to rotate: Atlassian The old key" in rotate  # nothing to put it into
    else:
        assert "How to rotate: Atlassian → the identity provider" in rotate
        assert "3. In the identity provider: put the new key in" in rotate
        assert "Is the new key in the identity provider?" in rotate


def test_an_unconfirmed_expiry_sends_people_to_the_vendor_by_its_name(
    admin_client: Client, make_credential: MakeCredential
) -> None:
    legacy, _ = make_credential(name="Legacy", expiry_unknown=True)
    page = _page(admin_client, "keyvault:integration_detail", integration_id=legacy.integration_id)
    notice = notice_words(kind=NoticeKind.EXPIRY_UNCONFIRMED, credential=legacy)

    assert "Look it up at Atlassian, then confirm it or correct it." in page
    assert "Look the date up at Atlassian and confirm or correct it" in notice.explanation
    assert "(SCIM API key)" not in notice.explanation


@pytest.mark.parametrize(
    ("provider", "refused"),
    [
        (ProviderKind.ATLASSIAN, "was refused by Atlassian: the vendor no longer accepts"),
        (ProviderKind.GENERIC_SCIM, "was refused: the vendor no longer accepts"),
    ],
)
def test_a_rejected_key_notice_names_the_vendor_not_the_providers_label(
    make_credential: MakeCredential, provider: str, refused: str
) -> None:
    credential, _ = make_credential(name="Acme")
    credential.integration.provider = provider  # the words only (not saved)

    explanation = notice_words(kind=NoticeKind.CHECK_REJECTED, credential=credential).explanation

    assert refused in explanation
    assert "(SCIM API key)" not in explanation and "Generic SCIM" not in explanation
