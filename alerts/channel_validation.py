"""Channel input checks: webhook URLs of each kind, their hints, email recipient lists.

Pure functions: they return the cleaned value or raise ``ValidationError`` with a message an
admin can act on, which never quotes the URL (it is a credential).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from alerts.models import ChannelKind
from alerts.transports.email import split_addresses

# http:// is accepted only for these hosts: a relay or stub on the same machine, where the URL
# never crosses a network in clear.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
MAX_WEBHOOK_URL = 2048
MAX_RECIPIENTS = 50

#: Hosts of Power Automate / Workflows webhooks; their URLs are signed by a ``sig`` parameter.
WORKFLOWS_HOST_SUFFIXES = (".logic.azure.com", ".powerplatform.com")
#: Hosts of the retired Office 365 connectors ("Incoming Webhook" in Teams).
CONNECTOR_HOST_SUFFIXES = (".webhook.office.com", "outlook.office.com")


@dataclass(frozen=True)
class _UrlRules:
    """What differs between kinds: where the URL comes from, and whether it needs a path."""

    source: str  # "Slack", "the Workflows flow", "your receiver"
    example: str
    needs_path: bool = True


_RULES = {
    ChannelKind.SLACK: _UrlRules("Slack", "https://hooks.slack.com/services/T…/B…/…"),
    ChannelKind.TEAMS: _UrlRules(
        "the Workflows flow",
        "https://….logic.azure.com/workflows/…/triggers/manual/paths/invoke?…&sig=…",
    ),
    ChannelKind.WEBHOOK: _UrlRules(
        "your receiver", "https://receiver.example.com/keyvault", needs_path=False
    ),
}


def clean_webhook_url(raw: str | None, *, kind: str = ChannelKind.SLACK) -> str:
    """An https URL with a host (``http`` only on loopback, for local relays) for ``kind``.

    Slack and Teams URLs need a path. Any host is accepted, so Slack-compatible services and
    relays work; a ``hooks.slack.com`` URL must have Slack's shape, a Workflows URL must carry
    its ``sig``, and a retired Office 365 connector URL is refused for Teams.
    """
    rules = _RULES.get(ChannelKind(kind), _RULES[ChannelKind.SLACK])
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
            f"This is not a webhook URL; it should look like {rules.example}.", code="invalid"
        )
    if parts.username or parts.password:
        raise ValidationError("The URL must not carry a user name or password.", code="userinfo")
    if rules.needs_path and parts.path.strip("/") == "":
        raise ValidationError(
            f"The URL has no path; copy the whole webhook URL from {rules.source}.",
            code="no_path",
        )
    if kind == ChannelKind.SLACK:
        _check_slack_shape(parts.path, hostname=hostname, example=rules.example)
    if kind == ChannelKind.TEAMS:
        _check_teams_shape(hostname=hostname, query=parts.query, example=rules.example)
    return url


def _check_slack_shape(path: str, *, hostname: str, example: str) -> None:
    if hostname == "hooks.slack.com" and path.startswith("/services/"):
        segments = [s for s in path.split("/")[2:] if s]
        if len(segments) != 3:
            raise ValidationError(
                f"This Slack webhook URL looks cut short; it should look like {example}.",
                code="shape",
            )


def _check_teams_shape(*, hostname: str, query: str, example: str) -> None:
    if hostname.endswith(CONNECTOR_HOST_SUFFIXES):
        raise ValidationError(
            "This is an Office 365 connector URL; Microsoft retired those. In Teams, create a "
            "workflow from the template “Post to a channel when a webhook request is "
            "received” and paste its URL.",
            code="retired_connector",
        )
    if hostname.endswith(WORKFLOWS_HOST_SUFFIXES) and not parse_qs(query).get("sig"):
        raise ValidationError(
            f"This Workflows URL looks cut short (its sig=… part is missing); it should look "
            f"like {example}.",
            code="shape",
        )


def webhook_hint(url: str) -> str:
    """What may be shown of a webhook URL: its host and the last 4 characters of its secret
    part (a Workflows URL's ``sig``, otherwise the path)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    default_port = {"https": 443, "http": 80}.get(parts.scheme.lower())
    if parts.port and parts.port != default_port:
        host = f"{host}:{parts.port}"
    if len(host) > 28:
        host = host[:27] + "…"
    sig = parse_qs(parts.query).get("sig")
    tail = sig[0][-4:] if sig else parts.path.rstrip("/")[-4:]
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
