"""Provider presets: default lifetime, expected SCIM/API URL shape and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class Provider:
    """What keyvault knows of one kind of credential."""

    kind: ProviderKind
    lifetime_days: int
    url_required: bool
    url_pattern: re.Pattern[str] | None = None
    url_example: str = ""

    @property
    def label(self) -> str:
        return str(self.kind.label)

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
        ),
        Provider(
            ProviderKind.ENTRA_ID,
            # Entra ID app secrets: the portal recommends at most 180 days.
            180,
            url_required=False,
            url_example="https://graph.microsoft.com/",
        ),
        Provider(ProviderKind.GOOGLE_WORKSPACE, 365, url_required=False),
        Provider(
            ProviderKind.ONELOGIN,
            365,
            url_required=False,
            url_pattern=re.compile(r"https://[A-Za-z0-9.-]+\.onelogin\.com(/.*)?"),
            url_example="https://<subdomain>.onelogin.com",
        ),
        Provider(
            ProviderKind.SLACK,
            365,
            url_required=False,
            url_pattern=re.compile(r"https://api\.slack\.com/scim/v[12]/?"),
            url_example="https://api.slack.com/scim/v2/",
        ),
        Provider(
            ProviderKind.GITHUB,
            365,
            url_required=False,
            url_pattern=re.compile(
                r"https://api\.github\.com/scim/v2/(enterprises|organizations)/[^/\s]+/?"
            ),
            url_example="https://api.github.com/scim/v2/enterprises/<enterprise>",
        ),
        Provider(
            ProviderKind.GENERIC_SCIM,
            365,
            url_required=True,
            url_example="https://example.com/scim/v2",
        ),
        Provider(ProviderKind.GENERIC_API_KEY, 365, url_required=False),
    )
}


def provider_for(kind: str) -> Provider:
    """The preset for a provider kind; raises ``KeyError`` for an unknown kind."""
    return PROVIDERS[kind]
