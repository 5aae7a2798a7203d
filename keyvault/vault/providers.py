"""Provider presets: default lifetime, expected SCIM/API URL shape and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.db import models


class ProviderKind(models.TextChoices):
    ATLASSIAN = "atlassian", "Atlassian (SCIM API key)"
    OKTA = "okta", "Okta (API token)"
    ENTRA_ID = "entra_id", "Microsoft Entra ID (client secret)"
    GOOGLE_WORKSPACE = "google_workspace", "Google Workspace"
    ONELOGIN = "onelogin", "OneLogin (API credential)"
    SLACK = "slack", "Slack (SCIM token)"
    GITHUB = "github", "GitHub (SCIM / personal access token)"
    GENERIC_SCIM = "generic_scim", "Generic SCIM"
    GENERIC_API_KEY = "generic_api_key", "Generic API key"


class IdentityProvider(models.TextChoices):
    OKTA = "okta", "Okta"
    ENTRA_ID = "entra_id", "Microsoft Entra ID"
    GOOGLE = "google", "Google"
    ONELOGIN = "onelogin", "OneLogin"
    JUMPCLOUD = "jumpcloud", "JumpCloud"
    OTHER = "other", "Other"
    NONE = "none", "None (not provisioning)"


def identity_provider_words(code: str) -> str:
    """An identity provider as a sentence names it: “Okta”; “the identity provider” for one
    keyvault has no name for (Other), and “every place that uses the key” when none
    provisions with it."""
    if code == IdentityProvider.NONE:
        return "every place that uses the key"
    if code in IdentityProvider.values and code != IdentityProvider.OTHER:
        return str(IdentityProvider(code).label)
    return "the identity provider"


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _in_sentence(label: str, *, name: str) -> str:
    """A label inside a sentence: the first letter small, unless the label starts with an
    acronym (“SCIM”) or the vendor's name (“Okta org URL”)."""
    if label[:2].isupper() or label.startswith(name):
        return label
    return label[0].lower() + label[1:]


@dataclass(frozen=True)
class Provider:
    """What keyvault knows of one kind of credential."""

    kind: ProviderKind
    lifetime_days: int
    url_required: bool
    url_pattern: re.Pattern[str] | None = None
    url_example: str = ""
    #: The vendor's words for the two inputs, as its admin page shows them.
    url_label: str = "Base URL"
    key_label: str = "API key"
    #: A URL that is itself a secret is never written back into a page shown again.
    url_secret: bool = False
    #: The latest day a key of unknown expiry can stop working (a legacy key saved with
    #: "expiry unknown"); None: the provider has no such known worst case.
    worst_case_expiry: date | None = None

    @property
    def label(self) -> str:
        return str(self.kind.label)

    @property
    def name(self) -> str:
        """The vendor's name alone: “Atlassian” (the label says what kind of key too)."""
        name = self.label.split(" (")[0]
        return "generic" + name[len("Generic") :] if name.startswith("Generic") else name

    @property
    def url_words(self) -> str:
        """The URL label inside a sentence: “directory base URL”."""
        return _in_sentence(self.url_label, name=self.name)

    @property
    def key_words(self) -> str:
        """The key label inside a sentence: “API key”, “client secret”."""
        return _in_sentence(self.key_label, name=self.name)

    @property
    def a_name(self) -> str:
        """The name with its article: “an Atlassian”, “a Slack”."""
        # By sound, not spelling: “an Atlassian”, “an Okta”, but “a OneLogin”.
        vowel_sound = self.name[0] in "AEIOU" and not self.name.startswith("One")
        return f"{'an' if vowel_sound else 'a'} {self.name}"

    def url_matches(self, url: str) -> bool:
        return self.url_pattern is None or bool(self.url_pattern.fullmatch(url))


PROVIDERS: dict[str, Provider] = {
    p.kind.value: p
    for p in (
        Provider(
            ProviderKind.ATLASSIAN,
            365,
            url_required=True,
            url_pattern=re.compile(rf"https://api\.atlassian\.com/scim/directory/{_UUID}/?"),
            url_example="https://api.atlassian.com/scim/directory/<directory uuid>",
            url_label="Directory base URL",
            key_label="API key",
            # Atlassian gave API keys made before 2025 an expiry between May 2026 and May 2027
            # that admin.atlassian.com does not show for every key; the latest is 1 May 2027
            # (Atlassian Community, "SCIM API key expiration", 2025).
            worst_case_expiry=date(2027, 5, 1),
        ),
        Provider(
            ProviderKind.OKTA,
            # Okta API tokens expire after 30 days unused; teams review them yearly.
            365,
            url_required=False,
            url_pattern=re.compile(
                r"https://[A-Za-z0-9.-]+\.(okta|oktapreview|okta-emea)\.com(/.*)?"
            ),
            url_example="https://<org>.okta.com",
            url_label="Okta org URL",
            key_label="API token",
        ),
        Provider(
            ProviderKind.ENTRA_ID,
            # Entra ID app secrets: the portal recommends at most 180 days.
            180,
            url_required=False,
            url_example="https://graph.microsoft.com/",
            url_label="Endpoint URL",
            key_label="Client secret",
        ),
        Provider(
            ProviderKind.GOOGLE_WORKSPACE,
            365,
            url_required=False,
            url_label="Endpoint URL",
            key_label="Secret",
        ),
        Provider(
            ProviderKind.ONELOGIN,
            365,
            url_required=False,
            url_pattern=re.compile(r"https://[A-Za-z0-9.-]+\.onelogin\.com(/.*)?"),
            url_example="https://<subdomain>.onelogin.com",
            url_label="OneLogin URL",
            key_label="API credential",
        ),
        Provider(
            ProviderKind.SLACK,
            365,
            url_required=False,
            url_pattern=re.compile(r"https://api\.slack\.com/scim/v[12]/?"),
            url_example="https://api.slack.com/scim/v2/",
            url_label="SCIM base URL",
            key_label="SCIM token",
        ),
        Provider(
            ProviderKind.GITHUB,
            365,
            url_required=False,
            url_pattern=re.compile(
                r"https://api\.github\.com/scim/v2/(enterprises|organizations)/[^/\s]+/?"
            ),
            url_example="https://api.github.com/scim/v2/enterprises/<enterprise>",
            url_label="SCIM base URL",
            key_label="Token",
        ),
        Provider(
            ProviderKind.GENERIC_SCIM,
            365,
            url_required=True,
            url_example="https://example.com/scim/v2",
            url_label="SCIM base URL",
            key_label="Bearer token",
        ),
        Provider(
            ProviderKind.GENERIC_API_KEY,
            365,
            url_required=False,
            url_label="API base URL",
            key_label="API key",
        ),
    )
}


def provider_for(kind: str) -> Provider:
    """The preset for a provider kind; raises ``KeyError`` for an unknown kind."""
    return PROVIDERS[kind]
