"""Reads for the vault's pages: the dashboard list and an integration's detail.

Every function takes ``now`` from its caller (one snapshot per request) and never loads
ciphertext: pages that list credentials have no use for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.shortcuts import get_object_or_404

from keyvault.models import Credential, CredentialState, Integration
from keyvault.vault.expiry import (
    Status,
    Urgency,
    credential_status,
    days_left,
    expiry_phrase,
    urgency,
)
from keyvault.vault.providers import ProviderKind

DASHBOARD_PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 200

# Columns a page may show; the ciphertext columns stay in the database.
CREDENTIAL_COLUMNS = (
    "id",
    "integration_id",
    "state",
    "fingerprint",
    "hint",
    "secret_stored",
    "issued_at",
    "expires_at",
    "expiry_confirmed",
    "created_at",
    "superseded_at",
    "revoked_at",
    "destroyed_at",
    "check_status",
    "checked_at",
    "idp_pending",
)


def tracked_q(prefix: str = "") -> Q:
    """Current credentials of integrations that are not archived: those reminders, checks,
    notices, the digest, the calendar feed and the metrics follow. ``prefix`` reaches the
    credential from another model (``"credential__"``)."""
    return Q(
        **{
            f"{prefix}state": CredentialState.CURRENT,
            f"{prefix}integration__archived_at__isnull": True,
        }
    )


def credential_tracked(credential: Credential) -> bool:
    """``tracked_q`` for one loaded credential (its integration is read)."""
    return (
        credential.state == CredentialState.CURRENT and credential.integration.archived_at is None
    )


@dataclass(frozen=True)
class CredentialFacts:
    """A credential version as a page shows it at one ``now``."""

    credential: Credential
    status: Status
    days_left: int
    now: datetime
    urgency: Urgency

    @property
    def fingerprint_short(self) -> str:
        return (self.credential.fingerprint or "")[:16]

    @property
    def status_label(self) -> str:
        """Badge text; says as much as the badge colour (never colour alone)."""
        if self.status == Status.DUE_SOON:
            if self.days_left <= 0:
                return "Due today"
            if self.days_left == 1:
                return "Due tomorrow"
            return f"Due in {self.days_left} days"
        return str(self.status.label)

    @property
    def expiry_phrase(self) -> str:
        """The expiry in words, in calendar days: “expires in 365 days”, “expired 3 days ago”."""
        return expiry_phrase(days=self.days_left, expired=self.credential.expires_at <= self.now)

    @property
    def is_current(self) -> bool:
        return self.credential.state == CredentialState.CURRENT


def credential_facts(*, credential: Credential, now: datetime) -> CredentialFacts:
    """Status and calendar days left for ``credential`` at ``now`` (local time zone)."""
    return CredentialFacts(
        credential=credential,
        status=credential_status(
            credential, now=now, due_soon_days=settings.KEYVAULT_DUE_SOON_DAYS
        ),
        days_left=days_left(credential.expires_at, now=now),
        now=now,
        urgency=urgency(credential, now=now, soon_days=settings.KEYVAULT_DUE_SOON_DAYS),
    )


@dataclass(frozen=True)
class DashboardRow:
    integration: Integration
    facts: CredentialFacts | None  # the current credential, else the latest version


def integration_search(*, q: str = "", archived: bool = False) -> QuerySet[Integration]:
    """Integrations not archived (``archived``: only the archived ones) whose name, owner or
    provider matches ``q``, soonest expiry first.

    Ordered by the expiry of the current credential (integrations without one last), then by
    name. Each row is annotated with ``shown_credential_id``: the current credential, else the
    most recently issued version.
    """
    versions = Credential.objects.filter(integration=OuterRef("pk"))
    current = versions.filter(state=CredentialState.CURRENT)
    shown = versions.annotate(
        is_current=Case(
            When(state=CredentialState.CURRENT, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("is_current", "-issued_at", "-created_at")
    qs = Integration.objects.filter(archived_at__isnull=not archived).annotate(
        current_expires_at=Subquery(current.values("expires_at")[:1]),
        shown_credential_id=Subquery(shown.values("pk")[:1]),
    )
    q = q.strip()[:SEARCH_MAX_LENGTH]
    if q:
        # Providers are stored as keys ("entra_id"); match their labels too ("Entra").
        kinds = [kind for kind, label in ProviderKind.choices if q.lower() in label.lower()]
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(owner__icontains=q)
            | Q(owner_email__icontains=q)
            | Q(provider__icontains=q)
            | Q(provider__in=kinds)
        )
    return qs.order_by(F("current_expires_at").asc(nulls_last=True), "name")


def dashboard_rows(integrations: Sequence[Integration], *, now: datetime) -> list[DashboardRow]:
    """Rows for integrations of ``integration_search``: their shown credentials are loaded in
    one ``IN`` query (without ciphertext)."""
    ids = [i.shown_credential_id for i in integrations if i.shown_credential_id]  # type: ignore[attr-defined]
    credentials = Credential.objects.only(*CREDENTIAL_COLUMNS).in_bulk(ids)
    rows = []
    for integration in integrations:
        credential = credentials.get(integration.shown_credential_id)  # type: ignore[attr-defined]
        facts = credential_facts(credential=credential, now=now) if credential else None
        rows.append(DashboardRow(integration=integration, facts=facts))
    return rows


@dataclass(frozen=True)
class IntegrationDetail:
    integration: Integration
    current: CredentialFacts | None
    versions: list[CredentialFacts]


def integration_detail(*, integration_id: uuid.UUID, now: datetime) -> IntegrationDetail:
    """An integration with every credential version (newest first); 404 when unknown."""
    integration = get_object_or_404(Integration, pk=integration_id)
    credentials = (
        Credential.objects.filter(integration=integration)
        .only(*CREDENTIAL_COLUMNS)
        .order_by("-issued_at", "-created_at")
    )
    versions = [credential_facts(credential=c, now=now) for c in credentials]
    current = next((v for v in versions if v.is_current), None)
    return IntegrationDetail(integration=integration, current=current, versions=versions)


def integrations_archived() -> QuerySet[Integration]:
    """Archived integrations, most recently archived first (the "Archived" list)."""
    return Integration.objects.filter(archived_at__isnull=False).order_by("-archived_at", "name")


def integration_get(*, integration_id: uuid.UUID) -> Integration:
    """The integration with this id; 404 when unknown."""
    return get_object_or_404(Integration, pk=integration_id)


def credential_get(*, credential_id: uuid.UUID) -> Credential:
    """The credential with this id, without ciphertext; 404 when unknown."""
    return get_object_or_404(Credential.objects.only(*CREDENTIAL_COLUMNS), pk=credential_id)


def credential_for_reveal(*, credential_id: uuid.UUID) -> Credential:
    """The credential (with its integration) an admin asked to reveal; 404 when unknown."""
    return get_object_or_404(Credential.objects.select_related("integration"), pk=credential_id)
