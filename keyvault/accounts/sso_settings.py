"""Settings of single sign-on with OpenID Connect (django-allauth's ``openid_connect``
provider), read from the environment; imported by ``keyvault.settings``.

SSO is on when ``KEYVAULT_OIDC_ISSUER`` is set. The role of an SSO user comes from the groups
claim at every sign-in (``keyvault.accounts.sso``); ``KEYVAULT_PASSWORD_LOGIN=0`` turns password
sign-in off (the shell's ``create_user --password-now`` still makes a break-glass account).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

#: The Django settings, taken by ``keyvault.settings`` with ``import *``.
__all__ = [
    "KEYVAULT_OIDC_ADMIN_GROUPS",
    "KEYVAULT_OIDC_AUDITOR_GROUPS",
    "KEYVAULT_OIDC_GROUPS_CLAIM",
    "KEYVAULT_OIDC_ISSUER",
    "KEYVAULT_OIDC_NAME",
    "KEYVAULT_PASSWORD_LOGIN",
    "SOCIALACCOUNT_ADAPTER",
    "SOCIALACCOUNT_AUTO_SIGNUP",
    "SOCIALACCOUNT_EMAIL_AUTHENTICATION",
    "SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT",
    "SOCIALACCOUNT_EMAIL_VERIFICATION",
    "SOCIALACCOUNT_PROVIDERS",
    "SOCIALACCOUNT_STORE_TOKENS",
]

#: Added to ``INSTALLED_APPS`` (after ``keyvault.accounts.settings.APPS``).
APPS = ["allauth.socialaccount", "allauth.socialaccount.providers.openid_connect"]

#: allauth's ``provider_id`` of keyvault's one identity provider: the callback path is
#: ``/accounts/oidc/sso/login/callback/``.
PROVIDER_ID = "sso"
#: The scopes asked for when ``KEYVAULT_OIDC_SCOPES`` is not set.
DEFAULT_SCOPES = ["openid", "email", "profile"]

_LOOPBACK_NAMES = {"localhost"}


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def issuer_problem(issuer: str) -> str:
    """Why ``issuer`` cannot be an OpenID provider's issuer, or "" when it can: https, or plain
    http on a loopback address only (a provider on this machine, as in the tests)."""
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return ""
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return ""
    return (
        f"KEYVAULT_OIDC_ISSUER must be an https:// address (plain http only on 127.0.0.1 or "
        f"localhost), not {issuer!r}."
    )


def csp_form_action(issuer: str) -> list[str]:
    """The CSP ``form-action`` sources SSO needs: the sign-in and Reveal forms post to keyvault,
    which redirects to the provider, and browsers hold a form's redirects to ``form-action``."""
    if not issuer:
        return []
    parts = urlsplit(issuer)
    return [f"{parts.scheme}://{parts.netloc}"]


def socialaccount_providers(
    *, issuer: str, client_id: str, secret: str, name: str, scopes: list[str]
) -> dict[str, Any]:
    """allauth's ``SOCIALACCOUNT_PROVIDERS`` for one OpenID provider (none without issuer)."""
    if not issuer:
        return {}
    return {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "SCOPE": scopes,
            "APPS": [
                {
                    "provider_id": PROVIDER_ID,
                    "name": name,
                    "client_id": client_id,
                    "secret": secret,
                    "settings": {"server_url": issuer, "fetch_userinfo": True},
                }
            ],
        }
    }


ISSUER = env.str("KEYVAULT_OIDC_ISSUER", default="").strip().rstrip("/")
CLIENT_ID = env.str("KEYVAULT_OIDC_CLIENT_ID", default="").strip()
CLIENT_SECRET = env.str("KEYVAULT_OIDC_CLIENT_SECRET", default="").strip()
NAME = env.str("KEYVAULT_OIDC_NAME", default="SSO").strip() or "SSO"
GROUPS_CLAIM = env.str("KEYVAULT_OIDC_GROUPS_CLAIM", default="groups").strip() or "groups"
SCOPES = env.list("KEYVAULT_OIDC_SCOPES", default=DEFAULT_SCOPES)
if ISSUER:
    if problem := issuer_problem(ISSUER):
        raise ImproperlyConfigured(problem)
    if not CLIENT_ID or not CLIENT_SECRET:
        raise ImproperlyConfigured(
            "KEYVAULT_OIDC_ISSUER is set: set KEYVAULT_OIDC_CLIENT_ID and "
            "KEYVAULT_OIDC_CLIENT_SECRET too (from the identity provider's app); see README.md, "
            "Single sign-on."
        )

KEYVAULT_OIDC_ISSUER = ISSUER
KEYVAULT_OIDC_NAME: str = NAME
KEYVAULT_OIDC_ADMIN_GROUPS: list[str] = env.list("KEYVAULT_OIDC_ADMIN_GROUPS", default=[])
KEYVAULT_OIDC_AUDITOR_GROUPS: list[str] = env.list("KEYVAULT_OIDC_AUDITOR_GROUPS", default=[])
KEYVAULT_OIDC_GROUPS_CLAIM = GROUPS_CLAIM
KEYVAULT_PASSWORD_LOGIN = env.bool("KEYVAULT_PASSWORD_LOGIN", default=True)
SOCIALACCOUNT_PROVIDERS = socialaccount_providers(
    issuer=ISSUER, client_id=CLIENT_ID, secret=CLIENT_SECRET, name=NAME, scopes=SCOPES
)
SOCIALACCOUNT_ADAPTER = "keyvault.accounts.sso.SsoAdapter"
# Users are made at their first SSO sign-in, never asked to fill a sign-up form; an SSO
# identity is never joined to an account by a matching email address (an IdP's email is not
# proof of owning a keyvault account).
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_STORE_TOKENS = False
# The identity provider vouches for its users; keyvault sends no verification mail.
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
