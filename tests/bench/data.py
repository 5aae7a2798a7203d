"""Synthetic data for the benchmark, written in bulk (never through the per-row services).

Expiry dates spread over 13 months around ``now`` (a month overdue to a year ahead); about a
quarter of integrations have older superseded versions and about 4% of integrations have only
a revoked credential, as in a real estate of SaaS credentials. Secrets are real ciphertexts and
fingerprints are real HMACs, so rows are the size they are in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from alerts.models import Channel, ChannelKind
from keyvault.audit.chain import GENESIS_HASH, ChainRow, event_hash
from keyvault.crypto import cipher
from keyvault.models import (
    AuditAction,
    AuditChainHead,
    AuditEvent,
    Credential,
    CredentialState,
    Integration,
)
from keyvault.vault.providers import IdentityProvider, ProviderKind
from tests.factories import slack_channel_make

BATCH = 5000
SCIM_URL = "https://api.atlassian.com/scim/directory/0f6a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
#: Expiry spread in days around ``now``: a month overdue to a year ahead (13 months).
EXPIRY_SPREAD_DAYS = (-30, 365)
#: Share of integrations whose only credential is revoked, and of those with older versions.
REVOKED_SHARE = 0.04
SUPERSEDED_SHARE = 0.25


def _fingerprint_key() -> bytes:
    return cipher._fingerprint_key(settings.KEYVAULT_FINGERPRINT_KEY)


def build_credentials(
    *,
    current: int,
    now: datetime,
    revoked: int | None = None,
    seed: int = 7,
    prefix: str = "",
    expiry_days: tuple[float, float] = EXPIRY_SPREAD_DAYS,
) -> int:
    """Create ``current`` integrations with a current credential (expiring uniformly within
    ``expiry_days`` of ``now``) plus ``revoked`` integrations (default ~4% of the total) whose
    only credential is revoked; ~25% of all get a superseded older version too.

    Returns the number of integrations created. Names start with ``prefix`` (unique per call).
    """
    if revoked is None:
        revoked = round(current * REVOKED_SHARE / (1 - REVOKED_SHARE))
    total = current + revoked
    rng = random.Random(seed)
    fp_key = _fingerprint_key()
    providers = list(ProviderKind.values)
    idps = list(IdentityProvider.values)
    low, high = (int(d * 24 * 60) for d in expiry_days)
    # Spread the revoked ones evenly through the batches.
    revoked_at = set(rng.sample(range(total), revoked))
    for start in range(0, total, BATCH):
        integrations, credentials = [], []
        for i in range(start, min(start + BATCH, total)):
            integration = Integration(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                name=f"{prefix}integration {i:07d}",
                provider=rng.choice(providers),
                identity_provider=rng.choice(idps),
                owner=f"team {i % 97}",
                owner_email=f"owner{i % 97}@example.com",
            )
            integrations.append(integration)
            expires = now + timedelta(minutes=rng.randint(low, high))
            state = CredentialState.REVOKED if i in revoked_at else CredentialState.CURRENT
            credentials.append(
                _credential(integration, rng, fp_key, now=now, expires_at=expires, state=state)
            )
            if rng.random() < SUPERSEDED_SHARE:
                credentials.append(
                    _credential(
                        integration,
                        rng,
                        fp_key,
                        now=now,
                        expires_at=expires - timedelta(days=365),
                        state=CredentialState.SUPERSEDED,
                    )
                )
        with transaction.atomic():
            Integration.objects.bulk_create(integrations)
            Credential.objects.bulk_create(credentials)
    return total


def _credential(
    integration: Integration,
    rng: random.Random,
    fp_key: bytes,
    *,
    now: datetime,
    expires_at: datetime,
    state: str,
) -> Credential:
    token = "ATATT3x" + f"{rng.getrandbits(256):064x}"
    credential = Credential(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        integration=integration,
        state=state,
        fingerprint=hmac.new(fp_key, token.encode(), hashlib.sha256).hexdigest(),
        hint=token[-4:],
        issued_at=expires_at - timedelta(days=365),
        expires_at=expires_at,
        superseded_at=now if state == CredentialState.SUPERSEDED else None,
        revoked_at=now if state == CredentialState.REVOKED else None,
    )
    credential.seal("token_ciphertext", token)
    credential.seal("scim_url_ciphertext", SCIM_URL)
    return credential


def channels_reset(*, slack_url: str) -> list[Channel]:
    """Replace every channel by the two a typical install has: the built-in owners' email
    channel (default, to each integration's owner) and one default Slack channel."""
    Channel.objects.all().delete()
    owners = Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Integration owners (email)",
        is_default=True,
        email_to_owner=True,
    )
    return [owners, slack_channel_make(name="#it-ops", url=slack_url)]


AUDIT_ACTIONS = [
    AuditAction.LOGIN,
    AuditAction.CREDENTIAL_CREATED,
    AuditAction.CREDENTIAL_REVEALED,
    AuditAction.CREDENTIAL_ROTATED,
    AuditAction.REMINDER_SENT,
    AuditAction.INTEGRATION_EDITED,
]


def build_audit_events(*, count: int, now: datetime, seed: int = 11, span_days: int = 365) -> None:
    """Append ``count`` chained audit events (valid hashes) after the chain's head, spread over
    the ``span_days`` before ``now`` (so the chain's time order holds as long as each call's
    ``now`` is later than the previous call's).

    Rows go in with ``executemany`` rather than ``bulk_create``: a million rows through the
    ORM's per-field preparation take minutes, and these rows are plain values anyway.
    """
    rng = random.Random(seed)
    integration_ids = list(Integration.objects.values_list("pk", flat=True)[:5000]) or [None]
    uuid_field = AuditEvent._meta.get_field("integration")
    db_integration = {
        pk: uuid_field.get_db_prep_save(pk, connection) if pk else None for pk in integration_ids
    }
    head = AuditChainHead.objects.get_or_create(pk=1)[0]
    seq, prev = head.seq, head.hash or GENESIS_HASH
    start_at = now - timedelta(days=span_days)
    step = timedelta(days=span_days) / max(count, 1)
    columns = ChainRow._fields  # every column but the id
    sql = (
        f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapt_datetime = connection.ops.adapt_datetimefield_value
    for start in range(0, count, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, count)):
            seq += 1
            integration_id = rng.choice(integration_ids)
            row = ChainRow(
                seq=seq,
                created_at=start_at + step * i,
                actor_id=None,
                actor_label=f"user{i % 13}",
                action=str(rng.choice(AUDIT_ACTIONS).value),
                integration_id=integration_id,
                target_type="credential",
                target_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                ip=None,
                details={"hint": f"{rng.getrandbits(16):04x}"},
                prev_hash=prev,
                hash="",
            )
            prev = event_hash(row)
            batch.append(
                row._replace(
                    created_at=adapt_datetime(row.created_at),
                    integration_id=db_integration[integration_id],
                    details=json.dumps(row.details),
                    hash=prev,
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
    AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)


def _empty(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE fires no row trigger: the audit table's append-only trigger stays in
            # force for everything else.
            # Deferred constraint checks still pending from this transaction's inserts would
            # make TRUNCATE refuse ("pending trigger events"): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)


def outbox_reset() -> None:
    """Empty the reminder outbox and forget the last scan, so the next scan does the full
    insert again."""
    _empty(["alerts_reminder", "alerts_reminderplan"])


def wipe() -> None:
    """Empty the throw-away database's domain tables between figures (raw SQL: audit rows are
    append-only through the ORM, and this database is deleted afterwards anyway)."""
    _empty(
        [
            "alerts_reminder",
            "alerts_reminderplan",
            "alerts_channel_integrations",
            "keyvault_rotation",
            "keyvault_credential",
            "keyvault_auditevent",
            "keyvault_integration",
        ]
    )
    AuditChainHead.objects.filter(pk=1).update(seq=0, hash=GENESIS_HASH)
