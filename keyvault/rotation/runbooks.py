"""Rotation runbooks as data: where a provider's key is regenerated, whether the old key keeps
working meanwhile, and where the identity provider that provisions with it takes the new one.

Shown on the rotate page and the integration page. Everything a vendor decides is in the two
tables below, each entry with its source in a comment: when a vendor moves a menu, correct the
entry here (and its source); nothing else needs to change. ``{app}`` in an identity provider's
steps is the provider's app name in that identity provider's catalogue (``APP_NAMES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from keyvault.vault.providers import (
    IdentityProvider,
    ProviderKind,
    identity_provider_words,
    provider_for,
)


@dataclass(frozen=True)
class Step:
    """One step: what to do, and the vendor page it happens on (empty when there is none)."""

    text: str
    link: str = ""


@dataclass(frozen=True)
class Regenerate:
    """How a provider's key is replaced. ``overlap``: True when the old key keeps working after
    the new one is made (no hurry to update the identity provider), False when it stops at once
    (provisioning fails until the identity provider has the new key), None when it depends."""

    steps: tuple[Step, ...]
    overlap: bool | None
    source: str


@dataclass(frozen=True)
class Paste:
    """Where an identity provider takes the new key, and what to know afterwards."""

    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runbook:
    """The runbook of one integration: the provider's steps, then the identity provider's."""

    provider_name: str
    identity_provider_name: str
    regenerate: tuple[Step, ...]
    overlap: bool | None
    paste: tuple[Step, ...]
    notes: tuple[str, ...]
    source: str = ""  # the provider's page about regenerating its key

    @property
    def overlap_text(self) -> str:
        """What happens to the old key, in one sentence."""
        if self.overlap is True:
            return (
                f"The old key keeps working after the new one is made: update "
                f"{self.identity_provider_name}, then revoke the old key at {self.provider_name}."
            )
        if self.overlap is False:
            return (
                f"The old key stops working the moment the new one is made: "
                f"{self.identity_provider_name} fails until it has the new key, so have both "
                "pages open before you start."
            )
        return (
            f"Whether the old key keeps working depends on how it was made at "
            f"{self.provider_name}: assume it stops at once."
        )


ATLASSIAN_ADMIN = "https://admin.atlassian.com"

REGENERATE: dict[str, Regenerate] = {
    # https://support.atlassian.com/provisioning-users/docs/manage-scim-api-key-expiration/
    # https://developer.atlassian.com/cloud/admin/user-provisioning/rest/intro/
    # "When you regenerate a SCIM API key, the existing key stops working."
    ProviderKind.ATLASSIAN: Regenerate(
        steps=(
            Step("Open admin.atlassian.com and select the organization.", ATLASSIAN_ADMIN),
            Step("Security → Identity providers → your directory → Provisioning."),
            Step(
                "Regenerate API key (the ••• menu), then copy the directory base URL and the key."
            ),
        ),
        overlap=False,
        source="https://support.atlassian.com/provisioning-users/docs/manage-scim-api-key-expiration/",
    ),
    # https://help.okta.com/en-us/content/topics/security/api.htm
    # A token stays valid until it is revoked (or 30 days unused).
    ProviderKind.OKTA: Regenerate(
        steps=(
            Step("In the Okta Admin Console: Security → API → Tokens → Create token."),
            Step("Copy the token, then revoke the old one once nothing uses it."),
        ),
        overlap=True,
        source="https://help.okta.com/en-us/content/topics/security/api.htm",
    ),
    # https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials
    # An app can hold several client secrets; each works until it expires or is deleted.
    ProviderKind.ENTRA_ID: Regenerate(
        steps=(
            Step(
                "In the Entra admin center: App registrations → the app → Certificates & "
                "secrets → New client secret.",
                "https://entra.microsoft.com",
            ),
            Step("Copy the secret's Value (shown once); delete the old secret when done."),
        ),
        overlap=True,
        source="https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials",
    ),
    # https://developers.onelogin.com/api-docs/2/getting-started/working-with-api-credentials
    # Several API credentials can exist at once; one works until it is deleted.
    ProviderKind.ONELOGIN: Regenerate(
        steps=(
            Step("In OneLogin: Developers → API Credentials → New Credential."),
            Step("Copy the client id and secret; delete the old credential when done."),
        ),
        overlap=True,
        source="https://developers.onelogin.com/api-docs/2/getting-started/working-with-api-credentials",
    ),
    # https://docs.slack.dev/admins/scim-api  (the SCIM token is an OAuth token with admin scope)
    # A token works until it is revoked or its app is uninstalled.
    ProviderKind.SLACK: Regenerate(
        steps=(
            Step(
                "Create a new OAuth token with the admin scope for the SCIM app (Org Owner "
                "or Primary Owner).",
                "https://api.slack.com/apps",
            ),
            Step("Copy the token; revoke the old one when the identity provider has the new one."),
        ),
        overlap=True,
        source="https://docs.slack.dev/admins/scim-api",
    ),
    # https://docs.github.com/en/enterprise-cloud@latest/admin/managing-iam/provisioning-user-accounts-with-scim/configuring-scim-provisioning-for-users
    # A personal access token works until it expires or is revoked.
    ProviderKind.GITHUB: Regenerate(
        steps=(
            Step(
                "As the setup user: Settings → Developer settings → Personal access tokens → "
                "Generate new token (classic, scope admin:enterprise).",
                "https://github.com/settings/tokens",
            ),
            Step("Copy the token; delete the old one when the identity provider has the new one."),
        ),
        overlap=True,
        source="https://docs.github.com/en/enterprise-cloud@latest/admin/managing-iam/provisioning-user-accounts-with-scim/configuring-scim-provisioning-for-users",
    ),
}

#: The provider's app in an identity provider's catalogue, when its name differs.
APP_NAMES: dict[str, str] = {
    ProviderKind.ATLASSIAN: "Atlassian Cloud",
}

PASTE: dict[str, Paste] = {
    # https://support.atlassian.com/provisioning-users/docs/configure-user-provisioning-with-okta/
    # https://support.okta.com/help/s/article/How-to-get-the-API-Key-and-Directory-ID-needed-to-authorize-the-Atlassian-Admin-Workflows-Connector
    IdentityProvider.OKTA: Paste(
        steps=(
            Step("In the Okta Admin Console: Applications → {app} → Provisioning → Integration."),
            Step("Edit, paste the new key (and the base URL if it changed)."),
            Step("Test API Credentials, then Save."),
        ),
    ),
    # https://learn.microsoft.com/entra/identity/saas-apps/atlassian-cloud-provisioning-tutorial
    # https://learn.microsoft.com/entra/identity/app-provisioning/how-provisioning-works
    # (incremental cycles run about every 40 minutes)
    IdentityProvider.ENTRA_ID: Paste(
        steps=(
            Step(
                "In the Entra admin center: Enterprise applications → {app} → Provisioning.",
                "https://entra.microsoft.com",
            ),
            Step("Admin Credentials: paste the new key as Secret Token (Tenant URL = base URL)."),
            Step("Test Connection, Save, then Restart provisioning."),
        ),
        notes=("The next provisioning cycle can take about 40 minutes to pick the new key up.",),
    ),
    # https://support.google.com/a/answer/7365072  (automated user provisioning)
    # https://support.atlassian.com/provisioning-users/docs/configure-user-provisioning-with-google-workspace/
    IdentityProvider.GOOGLE: Paste(
        steps=(
            Step(
                "In the Google Admin console: Apps → Web and mobile apps → {app} → "
                "Auto-provisioning.",
                "https://admin.google.com",
            ),
            Step(
                "Authorize again with the new key (and base URL), then turn auto-provisioning on."
            ),
        ),
        notes=("Google Workspace provisions users only: it does not push groups.",),
    ),
    # https://support.atlassian.com/provisioning-users/docs/configure-user-provisioning-with-onelogin/
    IdentityProvider.ONELOGIN: Paste(
        steps=(
            Step("In OneLogin: Applications → {app} → Configuration."),
            Step("Paste the new key as SCIM Bearer Token (SCIM Base URL = base URL), then Save."),
        ),
    ),
    # https://jumpcloud.com/support/understanding-scim-provisioning  (Identity Management tab)
    IdentityProvider.JUMPCLOUD: Paste(
        steps=(
            Step("In JumpCloud: SSO Applications → {app} → Identity Management."),
            Step("Paste the new key (token field), Test Connection, then Save."),
        ),
    ),
}


def runbook_for(*, provider: str, identity_provider: str) -> Runbook:
    """The runbook of an integration of ``provider`` provisioned by ``identity_provider``.

    A pair the tables do not know gets general steps (find the key at the provider, paste it
    where the identity provider keeps it); an integration that provisions nothing
    (``IdentityProvider.NONE``) gets no paste steps.
    """
    preset = provider_for(provider)
    idp_name = identity_provider_words(identity_provider)
    regenerate = REGENERATE.get(provider)
    if regenerate is None:
        steps: tuple[Step, ...] = (
            Step(f"Make a new {preset.key_words} where {preset.a_name} key is issued."),
        )
        overlap, source = None, ""
    else:
        steps, overlap, source = regenerate.steps, regenerate.overlap, regenerate.source
    app = APP_NAMES.get(provider, preset.name)
    paste = PASTE.get(identity_provider)
    if identity_provider == IdentityProvider.NONE:
        paste_steps: tuple[Step, ...] = ()
        notes: tuple[str, ...] = ()
    elif paste is None:
        paste_steps = (
            Step(
                f"Paste the new {preset.key_words} where {idp_name} keeps the {app} "
                "provisioning credentials, test the connection, then save."
            ),
        )
        notes = ()
    else:
        paste_steps = tuple(Step(s.text.format(app=app), s.link) for s in paste.steps)
        notes = paste.notes
    return Runbook(
        provider_name=preset.name,
        identity_provider_name=idp_name,
        regenerate=steps,
        overlap=overlap,
        paste=paste_steps,
        notes=notes,
        source=source,
    )
