"""Asking a vendor whether it still accepts a key: one SCIM read that needs the key.

For SCIM providers keyvault sends ``GET {base}/Users?startIndex=1&count=1`` with the token as
a bearer token (RFC 7644 §3.4.2: a list of at most one user; nothing is changed) through
``keyvault.vault.guarded_http``. The answer decides:

- 2xx with a SCIM list response: ``valid``;
- 401 or 403: ``rejected`` — the vendor no longer accepts this key;
- anything else (DNS, TLS, timeout, connection refused, 5xx, a redirect, a 404, a page that is
  not SCIM, a URL keyvault refuses to call): ``unreachable``, said in words.

Pure of the database: ``scim_probe`` takes the plaintext and returns a ``ProbeResult``; nothing
of the answer's body is kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from keyvault.vault import guarded_http
from keyvault.vault.check_models import REJECTED_MESSAGE, CheckStatus, result_message
from keyvault.vault.providers import ProviderKind

#: Providers whose keys are SCIM bearer tokens with a read endpoint under the stored base URL.
#: The others (Okta, Entra ID, Google Workspace, OneLogin API credentials, generic API keys)
#: have no read keyvault can make safely with the key alone.
SCIM_CHECK_PROVIDERS = frozenset(
    {
        ProviderKind.ATLASSIAN,
        ProviderKind.SLACK,
        ProviderKind.GITHUB,
        ProviderKind.GENERIC_SCIM,
    }
)
NO_LIVE_CHECK = "No live check for this provider."
_LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def live_check_available(provider: str) -> bool:
    """Whether keys of ``provider`` can be checked against their vendor."""
    return provider in SCIM_CHECK_PROVIDERS


def users_url(base_url: str) -> str:
    """The SCIM read a check sends, under ``base_url`` (its query, if any, is dropped)."""
    base = base_url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return f"{base}/Users?startIndex=1&count=1"


@dataclass(frozen=True)
class ProbeResult:
    """What one check found. ``detail`` is keyvault's words, never the vendor's."""

    status: CheckStatus
    http_status: int | None
    latency_ms: int
    detail: str

    @property
    def message(self) -> str:
        """One sentence for the page: the result and why."""
        return result_message(self.status, self.detail)


def _is_scim_list(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    if not isinstance(document, dict):
        return False
    schemas = document.get("schemas")
    return (isinstance(schemas, list) and _LIST_RESPONSE in schemas) or "totalResults" in document


def _interpret(answer: guarded_http.Answer) -> tuple[CheckStatus, str]:
    status = answer.status
    if 200 <= status < 300:
        if _is_scim_list(answer.body):
            return CheckStatus.VALID, "the vendor accepts this key"
        return CheckStatus.UNREACHABLE, (
            f"HTTP {status}, but the answer is not a SCIM list; check the SCIM base URL"
        )
    if status in (401, 403):
        return CheckStatus.REJECTED, REJECTED_MESSAGE
    if 300 <= status < 400:
        return CheckStatus.UNREACHABLE, (
            f"HTTP {status}, a redirect (not followed); check the SCIM base URL"
        )
    if status >= 500:
        return CheckStatus.UNREACHABLE, f"the vendor answered HTTP {status} (a fault on its side)"
    return CheckStatus.UNREACHABLE, f"the vendor answered HTTP {status}; check the SCIM base URL"


@sensitive_variables("base_url", "token")
def scim_probe(*, base_url: str, token: str) -> ProbeResult:
    """Send the SCIM read with ``token`` to the service at ``base_url``; never raises for
    anything the network or the vendor does."""
    started = time.monotonic()
    http_status: int | None = None
    try:
        answer = guarded_http.guarded_get(
            users_url(base_url), headers={"Authorization": f"Bearer {token}"}
        )
    except guarded_http.Refused as exc:
        status, detail = CheckStatus.UNREACHABLE, f"keyvault did not call it: {exc}"
    except guarded_http.NoAnswer as exc:
        status, detail = CheckStatus.UNREACHABLE, str(exc)
    else:
        http_status = answer.status
        status, detail = _interpret(answer)
    latency_ms = int((time.monotonic() - started) * 1000)
    return ProbeResult(status=status, http_status=http_status, latency_ms=latency_ms, detail=detail)
