"""Reminder channels: validate, create, change, delete and test them (reads: ``alerts.selectors``).

Every write validates first (``ValidationError`` keyed by form field, nothing half-saved),
then saves and appends its AuditEvent in one transaction. A Slack, Teams or webhook URL is a
secret: it is sealed into ``webhook_ciphertext`` and only its hint (``hooks.slack.com/…/AbCd``)
is kept in clear, shown, or written to the audit log. A webhook channel's signing secret is
generated here, sealed into ``signing_secret_ciphertext`` and handed back once, to be shown
once (``channel_add``, ``channel_rotate_signing_secret``). All functions are keyword-only and
take ``now``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from alerts.audiences import channel_schedule, channel_schedule_errors, reminder_plans_forget
from alerts.channel_validation import clean_recipients, clean_webhook_url, webhook_hint
from alerts.models import URL_KINDS, Channel, ChannelKind
from alerts.scan import reminders_scan_soon
from alerts.selectors import channel_open_reminders
from alerts.transports.email import split_addresses
from alerts.transports.slack import webhook_secrets
from alerts.transports.webhook import SECRET_PREFIX
from keyvault.audit.chain import audit_append
from keyvault.crypto.cipher import CryptoError
from keyvault.models import AuditAction, Integration
from keyvault.vault import leaks

#: Random bytes in a generated signing secret (Standard Webhooks asks for 24 to 64).
SIGNING_SECRET_BYTES = 32

# --- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelInput:
    """What a channel form submits. ``webhook_url`` empty on an edit keeps the current one."""

    name: str
    is_default: bool = False
    integrations: Sequence[Integration] = ()
    webhook_url: str = ""
    email_recipients: str = ""
    email_to_owner: bool = False
    escalate_from_days: int | None = None  # None: every reminder
    digest_weekday: int | None = None  # None: no weekly digest
    digest_hour: int = 9

    def __repr__(self) -> str:  # the webhook URL must not reach a traceback or log line
        return f"ChannelInput(name={self.name!r}, webhook={'set' if self.webhook_url else ''})"


def _validated(
    *,
    kind: str,
    data: ChannelInput,
    creating: bool,
    current_webhook: str = "",
    current_secret: str = "",
) -> dict[str, Any]:
    """Clean every field and report all problems at once; returns the cleaned values.

    The name is shown on every page and kept in the audit log: one that holds the webhook URL
    (the new one or ``current_webhook``), a part of its secret path, or the signing secret
    (``current_secret``), is refused.
    """
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {"name": " ".join(data.name.split())}
    if not cleaned["name"]:
        errors["name"] = [ValidationError("Give the channel a name.", code="required")]
    if kind in URL_KINDS:
        if creating or data.webhook_url.strip():
            try:
                cleaned["webhook_url"] = clean_webhook_url(data.webhook_url, kind=kind)
            except ValidationError as exc:
                errors["webhook_url"] = exc.error_list
    elif kind == ChannelKind.EMAIL:
        try:
            cleaned["email_recipients"] = clean_recipients(data.email_recipients)
        except ValidationError as exc:
            errors["email_recipients"] = exc.error_list
        else:
            if not cleaned["email_recipients"] and not data.email_to_owner:
                errors["email_recipients"] = [
                    ValidationError(
                        "Add at least one address, or send to each integration's owner.",
                        code="no_recipients",
                    )
                ]
    else:
        errors["kind"] = [ValidationError("Unknown channel kind.", code="invalid")]
    errors.update(
        channel_schedule_errors(
            kind=kind,
            escalate_from_days=data.escalate_from_days,
            digest_weekday=data.digest_weekday,
            digest_hour=data.digest_hour,
            recipients=cleaned.get("email_recipients"),
        )
    )
    webhooks = [url for url in (cleaned.get("webhook_url", ""), current_webhook) if url]
    try:
        leaks.refuse_secrets(
            {"name": cleaned["name"]},
            secrets=[part for url in webhooks for part in webhook_secrets(url)]
            + (
                [current_secret, current_secret.removeprefix(SECRET_PREFIX)]
                if current_secret
                else []
            ),
        )
    except ValidationError as exc:
        errors.setdefault("name", []).extend(exc.error_dict["name"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save(channel: Channel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise ValidationError({"name": ["A channel with this name already exists."]}) from None


def _current(channel: Channel, column: str) -> str:
    """A stored secret, or "" when it cannot be decrypted (then any new value replaces it)."""
    try:
        return channel.unseal(column)
    except CryptoError:
        return ""


def _current_webhook(channel: Channel) -> str:
    return _current(channel, "webhook_ciphertext")


def signing_secret_generate() -> str:
    """A new Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SIGNING_SECRET_BYTES)).decode()


def _destination(channel: Channel) -> dict[str, Any]:
    """Audit-safe description of where a channel sends (hint, never the URL or a secret)."""
    if channel.kind == ChannelKind.WEBHOOK:
        return {"webhook": channel.webhook_hint, "signed": "standard-webhooks v1"}
    if channel.kind in URL_KINDS:
        return {"webhook": channel.webhook_hint}
    return {
        "recipients": split_addresses(channel.email_recipients),
        "email_to_owner": channel.email_to_owner,
    }


@dataclass(frozen=True)
class ChannelAdded:
    """A new channel and, for a webhook channel, its signing secret: show it to the admin once
    and drop it (it is stored sealed; keyvault never shows it again)."""

    channel: Channel
    signing_secret: str = ""

    def __repr__(self) -> str:  # the secret must not reach a traceback or log line
        return f"ChannelAdded(channel={self.channel.name!r}, signing_secret=…)"


def channel_add(
    *, kind: str, data: ChannelInput, actor: Any, now: datetime, ip: str | None = None
) -> ChannelAdded:
    """Create a channel of any kind; audits ``CHANNEL_CREATED``. Raises ``ValidationError``.

    A webhook channel gets a generated signing secret, returned once in the result.
    """
    cleaned = _validated(kind=kind, data=data, creating=True)
    channel = Channel(
        kind=kind,
        name=cleaned["name"],
        is_default=data.is_default,
        escalate_from_days=data.escalate_from_days,
        digest_weekday=data.digest_weekday,
        digest_hour=data.digest_hour,
    )
    signing_secret = ""
    if kind in URL_KINDS:
        channel.seal("webhook_ciphertext", cleaned["webhook_url"])
        channel.webhook_hint = webhook_hint(cleaned["webhook_url"])
    else:
        channel.email_recipients = cleaned["email_recipients"]
        channel.email_to_owner = data.email_to_owner
    if kind == ChannelKind.WEBHOOK:
        signing_secret = signing_secret_generate()
        channel.seal("signing_secret_ciphertext", signing_secret)
        channel.signing_secret_set_at = now
    with transaction.atomic():
        _save(channel)
        channel.integrations.set(data.integrations)
        audit_append(
            action=AuditAction.CHANNEL_CREATED,
            now=now,
            actor=actor,
            target=channel,
            ip=ip,
            details={
                "name": channel.name,
                "kind": channel.kind,
                "is_default": channel.is_default,
                "integrations": sorted(i.name for i in data.integrations),
                **_destination(channel),
                **channel_schedule(channel),
            },
        )
        reminder_plans_forget()  # reminders already owed now have one more place to go
        reminders_scan_soon()
    return ChannelAdded(channel=channel, signing_secret=signing_secret)


def channel_create(
    *, kind: str, data: ChannelInput, actor: Any, now: datetime, ip: str | None = None
) -> Channel:
    """``channel_add`` returning the channel only (for kinds without a secret to show; a
    webhook channel made this way needs ``channel_rotate_signing_secret`` before anyone can
    verify its events)."""
    return channel_add(kind=kind, data=data, actor=actor, now=now, ip=ip).channel


def channel_rotate_signing_secret(
    *, channel: Channel, actor: Any, now: datetime, ip: str | None = None
) -> str:
    """Replace a webhook channel's signing secret; returns the new one, to be shown once.

    The old secret stops working at once (receivers must be updated). Audited as
    ``CHANNEL_CHANGED`` with ``signing_secret: "rotated"`` (never the secret). Raises
    ``ValidationError`` for a channel that is not a webhook channel.
    """
    if channel.kind != ChannelKind.WEBHOOK:
        raise ValidationError("Only webhook channels have a signing secret.", code="kind")
    new_secret = signing_secret_generate()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        previous = locked.signing_secret_set_at
        locked.seal("signing_secret_ciphertext", new_secret)
        locked.signing_secret_set_at = now
        locked.save(
            update_fields=["signing_secret_ciphertext", "signing_secret_set_at", "updated_at"]
        )
        audit_append(
            action=AuditAction.CHANNEL_CHANGED,
            now=now,
            actor=actor,
            target=locked,
            ip=ip,
            details={
                "name": locked.name,
                "kind": locked.kind,
                "signing_secret": "rotated",
                "changed": {
                    "signing_secret": {
                        "from": f"set {previous.isoformat()}" if previous else "unset",
                        "to": f"set {now.isoformat()}",
                    }
                },
            },
        )
    return new_secret


def channel_update(
    *, channel: Channel, data: ChannelInput, actor: Any, now: datetime, ip: str | None = None
) -> Channel:
    """Change a channel; audits ``CHANNEL_CHANGED`` with what changed (hints, not URLs).

    An empty ``webhook_url`` keeps the current webhook. Nothing is written when nothing changed.
    """
    cleaned = _validated(
        kind=channel.kind,
        data=data,
        creating=False,
        current_webhook=_current_webhook(channel) if channel.kind in URL_KINDS else "",
        current_secret=_current(channel, "signing_secret_ciphertext"),
    )
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        changed: dict[str, Any] = {}

        def change(field: str, value: Any) -> None:
            if getattr(locked, field) != value:
                changed[field] = {"from": getattr(locked, field), "to": value}
                setattr(locked, field, value)

        change("name", cleaned["name"])
        change("is_default", data.is_default)
        change("escalate_from_days", data.escalate_from_days)
        change("digest_weekday", data.digest_weekday)
        change("digest_hour", data.digest_hour)
        new_url = cleaned.get("webhook_url", "")
        if locked.kind in URL_KINDS and new_url and new_url != _current_webhook(locked):
            new_hint = webhook_hint(new_url)
            changed["webhook"] = {"from": locked.webhook_hint, "to": new_hint}
            locked.seal("webhook_ciphertext", new_url)
            locked.webhook_hint = new_hint
        if locked.kind == ChannelKind.EMAIL:
            change("email_recipients", cleaned["email_recipients"])
            change("email_to_owner", data.email_to_owner)
        before = sorted(locked.integrations.values_list("name", flat=True))
        after = sorted(i.name for i in data.integrations)
        if before != after:
            changed["integrations"] = {"from": before, "to": after}
            locked.integrations.set(data.integrations)
        if not changed:
            return locked
        _save(locked)
        audit_append(
            action=AuditAction.CHANNEL_CHANGED,
            now=now,
            actor=actor,
            target=locked,
            ip=ip,
            details={"name": locked.name, "changed": changed},
        )
        reminder_plans_forget()  # its audience or integrations may have widened
        reminders_scan_soon()
    return locked


def channel_delete(*, channel: Channel, actor: Any, now: datetime, ip: str | None = None) -> None:
    """Delete a channel and its outbox rows; audits ``CHANNEL_DELETED``."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        pending = channel_open_reminders(channel=locked)
        details = {
            "name": locked.name,
            "kind": locked.kind,
            "pending_reminders_dropped": pending,
            **_destination(locked),
        }
        audit_append(
            action=AuditAction.CHANNEL_DELETED,
            now=now,
            actor=actor,
            target=locked,
            ip=ip,
            details=details,
        )
        locked.delete()
