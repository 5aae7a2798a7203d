"""Test data, built explicitly: integrations with a credential, channels and reminders; and
``run_concurrently`` for the tests that race real database transactions.

Credentials are made through the service layer (validated, sealed, audited), exactly as a paste
would make them. Channels and reminders are written directly: their services are under test
elsewhere, and these tests need a row in a given state.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connections

from alerts.channels import signing_secret_generate
from alerts.models import Channel, ChannelKind, Reminder
from keyvault.models import Credential
from keyvault.vault import credentials, services
from keyvault.vault.providers import ProviderKind

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ATLASSIAN_URL = "https://api.atlassian.com/scim/directory/0f6a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"

#: ``make_credential`` fixture's type: keyword arguments of ``credential_make`` but ``actor``.
MakeCredential = Callable[..., tuple[Credential, str]]

T = TypeVar("T")

_names = itertools.count(1)


def new_token() -> str:
    """A realistic Atlassian-like token: long, random, URL-safe."""
    return "ATATT3x" + secrets.token_urlsafe(48)


def credential_make(
    *,
    actor: Any,
    name: str | None = None,
    provider: str = ProviderKind.ATLASSIAN,
    scim_url: str = ATLASSIAN_URL,
    token: str | None = None,
    issued_at: datetime = NOW,
    expires_at: datetime | None = None,
    now: datetime = NOW,
    expiry_unknown: bool = False,
    **fields: Any,
) -> tuple[Credential, str]:
    """A new integration with a current credential, created by ``actor``.

    Returns ``(credential, token)`` so tests can look for the plaintext where it must not be.
    ``fields`` are further integration metadata (owner, owner_email, reminder_thresholds, …).
    """
    token = token or new_token()
    secret = credentials.secret_input_clean(
        provider=provider,
        scim_url=scim_url,
        token=token,
        issued_at=issued_at,
        expires_at=expires_at,
        expiry_unknown=expiry_unknown,
    )
    _, credential = services.integration_create(
        fields={"name": name or f"Integration {next(_names)}", "provider": provider, **fields},
        secret=secret,
        actor=actor,
        now=now,
    )
    return credential, token


def metadata_only_make(
    *,
    actor: Any,
    name: str,
    provider: str = ProviderKind.ATLASSIAN,
    now: datetime = NOW,
    **values: str,
) -> Credential:
    """An integration imported without its token: its current version is metadata only.
    ``values`` are further import columns by field (``expires_on="2026-06-01"``, ``owner``)."""
    from keyvault.inventory.importer import integrations_import
    from keyvault.inventory.spreadsheet import RawRow, SheetFormat, Table

    row = RawRow(number=2, values={"name": name, "provider": provider, **values})
    integrations_import(
        table=Table(format=SheetFormat.CSV, digest="", rows=[row]), actor=actor, now=now
    )
    return Credential.objects.get(integration__name=name)


def slack_channel_make(
    *,
    name: str = "#it-ops",
    url: str,
    is_default: bool = True,
    integrations: Iterable[Any] = (),
    hint: str | None = None,
) -> Channel:
    """A Slack channel whose (secret) webhook URL is sealed like the service seals it."""
    channel = Channel(
        kind=ChannelKind.SLACK,
        name=name,
        is_default=is_default,
        webhook_hint=hint if hint is not None else "127.0.0.1/…/" + url[-4:],
    )
    channel.seal("webhook_ciphertext", url)
    channel.save()
    channel.integrations.set(list(integrations))
    return channel


def teams_channel_make(
    *,
    name: str = "IT ops (Teams)",
    url: str,
    is_default: bool = True,
    integrations: Iterable[Any] = (),
) -> Channel:
    """A Teams channel whose (secret) Workflows URL is sealed like the service seals it."""
    channel = Channel(
        kind=ChannelKind.TEAMS, name=name, is_default=is_default, webhook_hint="teams/…/" + url[-4:]
    )
    channel.seal("webhook_ciphertext", url)
    channel.save()
    channel.integrations.set(list(integrations))
    return channel


def webhook_channel_make(
    *,
    name: str = "SIEM webhook",
    url: str,
    is_default: bool = True,
    integrations: Iterable[Any] = (),
    signing_secret: str | None = None,
) -> tuple[Channel, str]:
    """A webhook channel with a sealed endpoint URL and signing secret; returns
    ``(channel, signing_secret)``."""
    signing_secret = signing_secret or signing_secret_generate()
    channel = Channel(
        kind=ChannelKind.WEBHOOK,
        name=name,
        is_default=is_default,
        webhook_hint="hook/…/" + url[-4:],
        signing_secret_set_at=NOW,
    )
    channel.seal("webhook_ciphertext", url)
    channel.seal("signing_secret_ciphertext", signing_secret)
    channel.save()
    channel.integrations.set(list(integrations))
    return channel, signing_secret


def email_channel_make(
    *,
    name: str,
    recipients: str = "",
    to_owner: bool = False,
    is_default: bool = True,
    integrations: Iterable[Any] = (),
) -> Channel:
    channel = Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name=name,
        is_default=is_default,
        email_recipients=recipients,
        email_to_owner=to_owner,
    )
    channel.integrations.set(list(integrations))
    return channel


def reminder_make(
    *, credential: Credential, channel: Channel, threshold: int = 7, **fields: Any
) -> Reminder:
    """An outbox row (pending unless ``fields`` say otherwise), due and created at ``NOW``."""
    fields = {"due_at": NOW, "created_at": NOW, **fields}
    return Reminder.objects.create(
        credential=credential, channel=channel, threshold=threshold, **fields
    )


def run_concurrently(
    work: Callable[[int], T], *, count: int = 2, timeout: float = 60
) -> list[T | BaseException]:
    """Run ``work(0) … work(count - 1)`` in ``count`` threads released together by a barrier;
    returns each one's result or the exception it raised, in order.

    Each thread has its own database connection (closed when it ends), so the calls race as
    separate transactions do; use it in ``transaction=True`` tests.
    """
    barrier = threading.Barrier(count)
    results: list[T | BaseException | None] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = work(i)
        except BaseException as exc:  # handed back to the caller to assert on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"a concurrent call did not finish within {timeout} s")
    return results  # type: ignore[return-value]
