"""Reminder channels: validate, create, change, delete and test them (reads: ``alerts.selectors``).

Every write validates first (``ValidationError`` keyed by form field, nothing half-saved),
then saves and appends its AuditEvent in one transaction. A Slack webhook URL is a secret: it
is sealed into ``webhook_ciphertext`` and only its hint (``hooks.slack.com/…/AbCd``) is kept in
clear, shown, or written to the audit log. All functions are keyword-only and take ``now``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from alerts.audiences import channel_schedule, channel_schedule_errors
from alerts.messages import test_notification
from alerts.models import Channel, ChannelKind
from alerts.scan import reminders_scan_soon
from alerts.selectors import channel_open_reminders
from alerts.transports.base import TransportError, transport_for
from alerts.transports.email import split_addresses
from alerts.transports.slack import webhook_secrets
from keyvault.audit.chain import audit_append
from keyvault.crypto.cipher import CryptoError
from keyvault.models import AuditAction, Integration
from keyvault.vault import leaks

# http:// is accepted only for these hosts: a relay or stub on the same machine, where the URL
# never crosses a network in clear.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
MAX_WEBHOOK_URL = 2048
MAX_RECIPIENTS = 50


# --- validation -----------------------------------------------------------------------------


def clean_webhook_url(raw: str | None) -> str:
    """An https URL with a host and a path (``http`` only on loopback, for local relays).

    Any such URL is accepted, not only ``hooks.slack.com``, so Slack-compatible services work;
    a ``hooks.slack.com`` URL must have Slack's shape. Messages never quote the URL.
    """
    url = (raw or "").strip()
    if not url:
        raise ValidationError("Paste the webhook URL: it is empty.", code="required")
    if len(url) > MAX_WEBHOOK_URL:
        raise ValidationError(
            f"The URL is longer than {MAX_WEBHOOK_URL} characters.", code="too_long"
        )
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        raise ValidationError(
            "The URL contains spaces or invisible characters; paste it again.", code="invalid"
        )
    try:
        parts = urlsplit(url)
        hostname = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise ValidationError("This is not a valid URL.", code="invalid") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and hostname not in LOOPBACK_HOSTS:
        raise ValidationError(
            "The URL must start with https:// (http:// is accepted only for 127.0.0.1).",
            code="not_https",
        )
    if scheme not in ("https", "http") or not hostname:
        raise ValidationError(
            "This is not a webhook URL; it should look like "
            "https://hooks.slack.com/services/T…/B…/….",
            code="invalid",
        )
    if parts.username or parts.password:
        raise ValidationError("The URL must not carry a user name or password.", code="userinfo")
    if parts.path.strip("/") == "":
        raise ValidationError(
            "The URL has no path; copy the whole webhook URL from Slack.", code="no_path"
        )
    if hostname == "hooks.slack.com" and parts.path.startswith("/services/"):
        segments = [s for s in parts.path.split("/")[2:] if s]
        if len(segments) != 3:
            raise ValidationError(
                "This Slack webhook URL looks cut short; it should look like "
                "https://hooks.slack.com/services/T…/B…/….",
                code="shape",
            )
    return url


def webhook_hint(url: str) -> str:
    """What may be shown of a webhook URL: its host and the last 4 characters of its path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    if len(host) > 28:
        host = host[:27] + "…"
    tail = parts.path.rstrip("/")[-4:]
    return f"{host}/…/{tail}"


def clean_recipients(raw: str | None) -> str:
    """Validate a comma-separated address list; returns it normalised (``a@x, b@y``)."""
    addresses = split_addresses(raw or "")
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        listed = ", ".join(f"“{a[:80]}”" for a in bad[:5])
        raise ValidationError(
            f"Not a valid email address: {listed}. Separate addresses with commas.",
            code="invalid",
        )
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(
            f"At most {MAX_RECIPIENTS} addresses; use a mailing list for more.", code="too_many"
        )
    return ", ".join(addresses)


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
    *, kind: str, data: ChannelInput, creating: bool, current_webhook: str = ""
) -> dict[str, Any]:
    """Clean every field and report all problems at once; returns the cleaned values.

    The name is shown on every page and kept in the audit log: one that holds the webhook URL
    (the new one or ``current_webhook``), or a part of its secret path, is refused.
    """
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {"name": " ".join(data.name.split())}
    if not cleaned["name"]:
        errors["name"] = [ValidationError("Give the channel a name.", code="required")]
    if kind == ChannelKind.SLACK:
        if creating or data.webhook_url.strip():
            try:
                cleaned["webhook_url"] = clean_webhook_url(data.webhook_url)
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
            secrets=[part for url in webhooks for part in webhook_secrets(url)],
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


def _current_webhook(channel: Channel) -> str:
    """The stored webhook URL, or "" when it cannot be decrypted (then any paste replaces it)."""
    try:
        return channel.unseal("webhook_ciphertext")
    except CryptoError:
        return ""


def _destination(channel: Channel) -> dict[str, Any]:
    """Audit-safe description of where a channel sends (hint, never the URL)."""
    if channel.kind == ChannelKind.SLACK:
        return {"webhook": channel.webhook_hint}
    return {
        "recipients": split_addresses(channel.email_recipients),
        "email_to_owner": channel.email_to_owner,
    }


def channel_create(
    *, kind: str, data: ChannelInput, actor: Any, now: datetime, ip: str | None = None
) -> Channel:
    """Create a Slack or email channel; audits ``CHANNEL_CREATED``. Raises ``ValidationError``."""
    cleaned = _validated(kind=kind, data=data, creating=True)
    channel = Channel(
        kind=kind,
        name=cleaned["name"],
        is_default=data.is_default,
        escalate_from_days=data.escalate_from_days,
        digest_weekday=data.digest_weekday,
        digest_hour=data.digest_hour,
    )
    if kind == ChannelKind.SLACK:
        channel.seal("webhook_ciphertext", cleaned["webhook_url"])
        channel.webhook_hint = webhook_hint(cleaned["webhook_url"])
    else:
        channel.email_recipients = cleaned["email_recipients"]
        channel.email_to_owner = data.email_to_owner
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
        reminders_scan_soon()  # reminders already owed now have one more place to go
    return channel


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
        current_webhook=_current_webhook(channel) if channel.kind == ChannelKind.SLACK else "",
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
        if locked.kind == ChannelKind.SLACK and new_url and new_url != _current_webhook(locked):
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


@dataclass(frozen=True)
class TestResult:
    """Outcome of a test notification: ``ok``, or the transport's exact error message."""

    ok: bool
    message: str
    permanent: bool = False

    __test__ = False  # not a pytest test class


def channel_send_test(
    *, channel: Channel, actor: Any, now: datetime, ip: str | None = None
) -> TestResult:
    """Send a test notification now (synchronously) and audit the outcome.

    The send happens outside any transaction; the audit event (``CHANNEL_TESTED`` with
    ``ok`` and, on failure, the error) is written afterwards. Never raises for a failed send:
    the failure is the result.
    """
    try:
        transport_for(channel, integration=None).send(test_notification(channel=channel, now=now))
    except TransportError as exc:
        result = TestResult(ok=False, message=exc.message, permanent=exc.permanent)
    else:
        result = TestResult(ok=True, message="The test notification was delivered.")
    audit_append(
        action=AuditAction.CHANNEL_TESTED,
        now=now,
        actor=actor,
        target=channel,
        ip=ip,
        details={
            "ok": result.ok,
            "channel": channel.name,
            "kind": channel.kind,
            **({} if result.ok else {"error": result.message, "permanent": result.permanent}),
        },
    )
    return result
