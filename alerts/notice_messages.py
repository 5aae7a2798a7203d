"""What notices say (``alerts.notices``): one ``Notification`` per notice, in every form a
reminder has (subject, text, HTML, Slack, Teams card, webhook event ``keyvault.notice``).

The words depend on the notice's kind; the facts (integration, provider, identity provider,
owner, key hint, expiry) are a reminder's. Metadata only: never the token, the SCIM URL, the
fingerprint or a webhook URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alerts.messages import (
    WEBHOOK_SCHEMA_VERSION,
    integration_url,
    iso_utc,
    local_day,
    notification_render,
    owner_mention,
    owner_text,
    rotate_url,
)
from alerts.models import NoticeKind
from alerts.transports.base import Notification
from keyvault.vault.providers import ProviderKind, identity_provider_words, provider_for

if TYPE_CHECKING:
    from alerts.models import Notice
    from keyvault.models import Credential


@dataclass(frozen=True)
class Words:
    """A notice's headline, what it means and what to do, and its button."""

    headline: str
    explanation: str
    action_label: str
    action_url: str
    urgent: bool


def notice_words(*, kind: str, credential: Credential) -> Words:
    """The words of a notice of ``kind`` about ``credential``."""
    integration = credential.integration
    idp = identity_provider_words(integration.identity_provider)
    vendor = provider_for(integration.provider).name  # “Atlassian”, not its label
    generic = integration.provider in (ProviderKind.GENERIC_SCIM, ProviderKind.GENERIC_API_KEY)
    by_vendor = "" if generic else f" by {vendor}"
    if kind == NoticeKind.CHECK_REJECTED:
        return Words(
            headline=f"{integration.name}: the vendor rejected the key",
            explanation=(
                f"A live check of the key ····{credential.hint} was refused{by_vendor}: the "
                "vendor no longer accepts this key — regenerated or revoked? Until a working "
                f"key is in {idp}, provisioning and deprovisioning through it fail."
            ),
            action_label="Rotate the credential",
            action_url=rotate_url(integration),
            urgent=True,
        )
    if kind == NoticeKind.IDP_NOT_UPDATED:
        return Words(
            headline=f"{integration.name}: {idp} not yet updated with the new key",
            explanation=(
                f"The key was rotated, but nobody has confirmed that {idp} now holds the new key "
                f"····{credential.hint}. Until it does, {idp} may still be using the old one. "
                "Paste the new key there, test the connection, then confirm it in keyvault."
            ),
            action_label="Confirm the identity provider was updated",
            action_url=integration_url(integration),
            urgent=True,
        )
    return Words(
        headline=f"{integration.name}: expiry date not confirmed",
        explanation=(
            f"Nobody knows when the key ····{credential.hint} expires: keyvault assumes the "
            f"worst case, {local_day(credential.expires_at)}. Look the date up at {vendor} "
            "and confirm or correct it in keyvault."
        ),
        action_label="Confirm the expiry date",
        action_url=integration_url(integration),
        urgent=False,
    )


def notice_notification(*, notice: Notice, now: datetime) -> Notification:
    """The message for one notice outbox row, as of ``now``."""
    credential = notice.credential
    integration = credential.integration
    words = notice_words(kind=notice.kind, credential=credential)
    owner = owner_text(integration)
    context: dict[str, Any] = {
        "integration_name": integration.name,
        "headline": words.headline,
        "explanation": words.explanation,
        "action_label": words.action_label,
        "action_url": words.action_url,
        "urgent": words.urgent,
        "provider": integration.get_provider_display(),
        "identity_provider": integration.get_identity_provider_display(),
        "owner": owner,
        "owner_mrkdwn": owner_mention(integration, plain=owner),
        "hint": credential.hint,
        "expires_date": local_day(credential.expires_at),
        "idempotency_key": notice.idempotency_key,
    }
    return notification_render("notice", context, event=notice_event(notice=notice, now=now))


def notice_event(*, notice: Notice, now: datetime) -> dict[str, Any]:
    """The webhook event (``keyvault.notice``, version 1) for one notice at ``now``: facts
    only, never a secret."""
    credential = notice.credential
    integration = credential.integration
    words = notice_words(kind=notice.kind, credential=credential)
    return {
        "type": "keyvault.notice",
        "version": WEBHOOK_SCHEMA_VERSION,
        "idempotency_key": notice.idempotency_key,
        "created_at": iso_utc(now),
        "notice": notice.kind,
        "summary": words.headline,
        "integration": {
            "id": str(integration.pk),
            "name": integration.name,
            "provider": integration.provider,
            "identity_provider": integration.identity_provider,
            "owner": integration.owner,
            "owner_email": integration.owner_email,
            "url": integration_url(integration),
        },
        "credential": {
            "id": str(credential.pk),
            "hint": credential.hint,
            "expires_at": iso_utc(credential.expires_at),
        },
        "action_url": words.action_url,
    }
