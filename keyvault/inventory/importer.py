"""Import of an inventory spreadsheet: a dry run that judges every row, then the import of
them all in one transaction (or none), audited as one event with counts.

Each row is validated by the rules of a paste (``ImportRowForm`` reuses the paste page's fields
and ``keyvault.vault.credentials.secret_input_clean``); a row with a token becomes an
integration with its sealed credential, a row without one an integration whose current version
is **metadata only** (no secret stored here), tracked and reminded like the rest. Across rows:
a name or a token may appear once in the file and must not exist yet.

A token in the file is a secret: no outcome, message or audit detail holds one, a cell that
looks like a key where free text belongs is refused without being shown, and the functions that
hold plaintext hide their locals from error reports (``sensitive_variables``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from keyvault.audit.chain import audit_append
from keyvault.inventory.columns import EXPIRY_UNKNOWN, HEADER_OF
from keyvault.inventory.spreadsheet import RawRow, Table
from keyvault.models import AuditAction, Credential, Integration
from keyvault.vault import credentials, validation
from keyvault.vault.expiry import local_midnight
from keyvault.vault.forms import IntegrationForm, expires_on_field, scim_url_field, token_field
from keyvault.vault.leaks import LEAK_CODE
from keyvault.vault.providers import IdentityProvider, ProviderKind, provider_for
from keyvault.vault.services import integration_refuse_tokens
from keyvault.vault.signals import reminders_may_be_due
from keyvault.web.forms import DateField, apply_service_errors

#: Batch size of the bulk inserts.
BATCH = 1000
ROW = "row"  # the key of errors about a whole row
URL_ALONE = "A SCIM URL needs its token: add the token, or leave both out."


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _choice(value: str, choices: list[tuple[str, str]]) -> str:
    """A provider as its value (``entra_id``) or its label, in any case and spacing, with or
    without what the label adds in brackets or in front ("Entra ID" for "Microsoft Entra ID")."""
    wanted = _letters(value)
    for key, label in choices:
        full = _letters(str(label))
        short = _letters(str(label).split(" (")[0])
        if wanted in (_letters(key), full, short) or (len(wanted) >= 4 and short.endswith(wanted)):
            return key
    return value.strip()


def _unknown(what: str, values: list[str]) -> str:
    return f"Not a known {what}: use one of {', '.join(values)}."


class _SharedFields(dict[str, forms.Field]):
    """Form fields that every row's form shares instead of deep-copying them: no row changes
    a field, and the copies were most of the time of a 10,000-row dry run."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedFields:
        return self


class ImportRowForm(IntegrationForm):
    """One row: the integration's metadata and, optionally, its secret.

    Dates are ``YYYY-MM-DD``. No issue date: the expiry less the provider's lifetime (never
    later than now), or now. No expiry: issue + the provider's lifetime. An expiry of
    ``unknown`` (any case): the paste form's "Expiry unknown — legacy key", the provider's worst
    case (``credentials.worst_case_expiry``), not confirmed (``expiry_confirmed``). No token: a
    metadata-only version, which then takes no SCIM URL either (a URL is part of the secret).
    """

    # Django's message quotes the value; a cell may hold a key.
    provider = forms.ChoiceField(
        choices=ProviderKind.choices,
        error_messages={"invalid_choice": _unknown("provider", ProviderKind.values)},
    )
    identity_provider = forms.ChoiceField(
        choices=IdentityProvider.choices,
        error_messages={"invalid_choice": _unknown("identity provider", IdentityProvider.values)},
    )
    scim_url = scim_url_field()
    token = token_field()
    issued_on = DateField(required=False, input_formats=["%Y-%m-%d"])
    expires_on = expires_on_field(input_formats=["%Y-%m-%d"])

    def __init__(self, data: dict[str, str], *, now: datetime) -> None:
        data = dict(data)
        self.expiry_unknown = data.get("expires_on", "").strip().lower() == EXPIRY_UNKNOWN
        if self.expiry_unknown:
            data["expires_on"] = ""
        data["provider"] = _choice(data.get("provider", ""), ProviderKind.choices)
        idp = data.get("identity_provider", "").strip()
        data["identity_provider"] = (
            _choice(idp, IdentityProvider.choices) if idp else IdentityProvider.OTHER
        )
        super().__init__(data)
        self.now = now
        self.secret: credentials.SecretInput | None = None
        self.issued_at: datetime | None = None
        self.expires_at: datetime | None = None

    @method_decorator(sensitive_variables())
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider = cleaned.get("provider")
        if not provider or {"issued_on", "expires_on"} & self.errors.keys():
            return cleaned
        preset = provider_for(provider)
        issued_on, expires_on = cleaned.get("issued_on"), cleaned.get("expires_on")
        worst: datetime | None = None
        if self.expiry_unknown:
            try:
                worst = credentials.worst_case_expiry(preset, expires_at=None)
            except ValidationError as exc:
                # The paste form's checkbox is this row's expires cell.
                self.add_error("expires_on", exc.error_dict["expiry_unknown"])
                return cleaned
            expires_on = timezone.localdate(worst)  # for the issue date the cell leaves out
        today = timezone.localdate(self.now)
        if issued_on is None and expires_on is not None:
            issued_on = min(expires_on - timedelta(days=preset.lifetime_days), today)
        if issued_on is not None and issued_on > today:
            self.add_error("issued_on", "The issue date cannot be in the future.")
            return cleaned
        issued_at = self.now if issued_on in (None, today) else local_midnight(issued_on)
        expires_at = local_midnight(expires_on) if expires_on and worst is None else None
        try:
            if (cleaned.get("token") or "").strip():
                self.secret = credentials.secret_input_clean(
                    provider=provider,
                    scim_url=cleaned.get("scim_url"),
                    token=cleaned.get("token"),
                    issued_at=issued_at,
                    expires_at=expires_at,
                    check_stored=False,  # all rows' tokens at once: _check_across_rows
                    expiry_unknown=self.expiry_unknown,
                )
                integration_refuse_tokens(cleaned, tokens=[self.secret.token])
                expires_at = self.secret.expires_at
            else:
                if (cleaned.get("scim_url") or "").strip():
                    raise ValidationError(
                        {
                            "scim_url": [
                                "A SCIM URL needs its token: add the token, or leave both out."
                            ]
                        }
                    )
                try:
                    expires_at = validation.clean_expiry(
                        issued_at=issued_at, expires_at=worst or expires_at, provider=preset
                    )
                except ValidationError as exc:
                    raise ValidationError({"expires_at": exc.error_list}) from None
        except ValidationError as exc:
            apply_service_errors(self, exc)
            return cleaned
        self.issued_at, self.expires_at = issued_at, expires_at
        return cleaned


ImportRowForm.base_fields = _SharedFields(ImportRowForm.base_fields)


@dataclass
class RowOutcome:
    """What the dry run found for one row (never its secret)."""

    number: int
    name: str  # as the page may show it ("" when it looked like a key)
    provider: str
    expires_on: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    metadata_only: bool = False
    #: False: the expiry was ``unknown`` and ``expires_on`` is the provider's worst case.
    expiry_confirmed: bool = True
    fields: dict[str, Any] = field(default_factory=dict, repr=False)
    secret: credentials.SecretInput | None = field(default=None, repr=False)
    issued_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)


@dataclass
class ImportPlan:
    """Every row's outcome. ``ok`` when the file can be imported as it is."""

    format: str
    digest: str
    rows: list[RowOutcome]
    ignored: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def bad_rows(self) -> list[RowOutcome]:
        return [row for row in self.rows if not row.ok]

    @property
    def metadata_only(self) -> int:
        return sum(1 for row in self.rows if row.ok and row.metadata_only)

    @property
    def with_secret(self) -> int:
        return sum(1 for row in self.rows if row.ok and not row.metadata_only)


@sensitive_variables()
def _outcome(raw: RawRow, *, now: datetime) -> RowOutcome:
    form = ImportRowForm(raw.values, now=now)
    valid = form.is_valid()
    leaked = any(e.code == LEAK_CODE for e in form.errors.as_data().get("name", []))
    outcome = RowOutcome(
        number=raw.number,
        name="" if leaked else raw.values.get("name", "").strip()[:200],
        provider=form.cleaned_data.get("provider", "") if valid else "",
        expires_on=form.expires_at.date().isoformat() if valid and form.expires_at else "",
    )
    for name, errors in form.errors.items():
        column = HEADER_OF.get(name, ROW)
        for message in errors:
            outcome.refuse(column, str(message))
    for name in sorted(raw.formulas):
        outcome.refuse(HEADER_OF[name], "This cell holds a formula; keyvault imports values only.")
    if outcome.ok:
        outcome.fields = form.integration_fields()
        outcome.secret = form.secret
        outcome.metadata_only = form.secret is None
        outcome.issued_at, outcome.expires_at = form.issued_at, form.expires_at
        outcome.expiry_confirmed = not form.expiry_unknown
    return outcome


def _check_across_rows(rows: list[RowOutcome]) -> None:
    """A name or token twice in the file, or a name that exists already."""
    names: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for row in rows:
        if not row.ok:
            continue
        name = row.fields["name"]
        if name in names:
            row.refuse("name", f"This name is also in row {names[name]}.")
        names.setdefault(name, row.number)
        if row.secret is not None:
            if row.secret.fingerprint in tokens:
                row.refuse("token", f"This token is also in row {tokens[row.secret.fingerprint]}.")
            tokens.setdefault(row.secret.fingerprint, row.number)
    taken: set[str] = set()
    stored: dict[str, Credential] = {}
    for chunk in _chunks(list(names)):
        taken.update(Integration.objects.filter(name__in=chunk).values_list("name", flat=True))
    for chunk in _chunks(list(tokens)):
        stored.update(credentials.credential_holders(chunk))
    for row in rows:
        if row.fields.get("name") in taken:
            row.refuse("name", "An integration with this name already exists.")
        if row.secret is not None and row.secret.fingerprint in stored:
            holder = stored[row.secret.fingerprint]
            row.refuse("token", str(credentials.duplicate_error(holder).messages[0]))


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """Lists short enough for one ``IN (...)`` (SQLite allows some thousand parameters)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_plan(*, table: Table, now: datetime) -> ImportPlan:
    """The dry run: every row's outcome and errors by column; writes nothing."""
    rows = [_outcome(raw, now=now) for raw in table.rows]
    _check_across_rows(rows)
    return ImportPlan(format=table.format, digest=table.digest, rows=rows, ignored=table.ignored)


class ImportRefused(Exception):
    """The file cannot be imported as it is; ``plan`` says which rows and why."""

    def __init__(self, plan: ImportPlan, message: str = "") -> None:
        super().__init__(message or "Some rows cannot be imported.")
        self.plan = plan


@sensitive_variables()
def integrations_import(
    *, table: Table, actor: Any, now: datetime, ip: str | None = None
) -> ImportPlan:
    """Import every row of ``table`` in one transaction, or none: raises ``ImportRefused`` with
    the dry run's plan when a row is refused (or a name or token arrived meanwhile). Audits one
    ``INTEGRATIONS_IMPORTED`` event with the counts."""
    with transaction.atomic():
        plan = import_plan(table=table, now=now)
        if not plan.ok:
            raise ImportRefused(plan)
        created_by = actor if getattr(actor, "is_authenticated", False) else None
        integrations: list[Integration] = []
        versions: list[Credential] = []
        for row in plan.rows:
            integration = Integration(**row.fields, created_by=created_by)
            integrations.append(integration)
            assert row.issued_at is not None and row.expires_at is not None
            if row.secret is not None:
                version = credentials.credential_build(
                    integration=integration, secret=row.secret, actor=actor
                )
            else:
                version = credentials.credential_build_metadata_only(
                    integration=integration,
                    issued_at=row.issued_at,
                    expires_at=row.expires_at,
                    actor=actor,
                    expiry_confirmed=row.expiry_confirmed,
                )
            versions.append(version)
        try:
            with transaction.atomic():
                Integration.objects.bulk_create(integrations, batch_size=BATCH)
                Credential.objects.bulk_create(versions, batch_size=BATCH)
        except IntegrityError:
            raise ImportRefused(
                plan, "A name or token in the file was stored meanwhile; run the dry run again."
            ) from None
        audit_append(
            action=AuditAction.INTEGRATIONS_IMPORTED,
            now=now,
            actor=actor,
            ip=ip,
            details={
                "format": plan.format,
                "rows": len(plan.rows),
                "with_secret": plan.with_secret,
                "metadata_only": plan.metadata_only,
            },
        )
        reminders_may_be_due.send(sender=Integration, integration_id=None)
    return plan
