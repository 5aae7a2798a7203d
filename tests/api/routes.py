"""Who may call what in the API, for every ``api:`` URL in the URL conf.

``API_ROUTES`` holds one row per URL name: how to build the URL and, per method offered, the
scope it needs and a request body the admin's call must get through with. The token matrix
(``test_api_matrix``) walks the resolver for ``api:`` names, so a new API URL without a row fails
until someone decides its scope; the HTML role matrix (``tests/keyvault/test_role_matrix.py``)
takes these rows too and checks that no session opens the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from keyvault.api.models import Scope
from tests.factories import ATLASSIAN_URL, NOW, new_token

#: Every method the matrix tries on every API URL.
METHODS = ("GET", "POST", "PATCH")


@dataclass
class ApiWorld:
    """Objects API URLs point at (built by the matrix's fixture)."""

    integration: Any
    credential: Any
    extra: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[ApiWorld], str]
Body = Callable[[ApiWorld], dict[str, Any]]


@dataclass(frozen=True)
class ApiRoute:
    url: Builder
    scopes: dict[str, str]  # method -> scope it needs; others are not offered (405)
    bodies: dict[str, Body] = field(default_factory=dict)
    ok_status: dict[str, int] = field(default_factory=dict)  # default 200
    public: bool = False  # no token needed (the schema and its docs)
    not_found: bool = False  # 404 problem details to everyone, whatever the method


def _integration(w: ApiWorld) -> dict[str, Any]:
    return {"integration_id": w.integration.pk}


def _revoked(w: ApiWorld) -> str:
    """Adding a credential needs an integration without a current one."""
    from keyvault.rotation.services import credential_revoke

    if "revoked" not in w.extra:
        w.extra["revoked"] = credential_revoke(
            credential=w.credential, reason="matrix", actor=None, now=NOW
        )
    return reverse("api:credential_add", kwargs=_integration(w))


def _archived(w: ApiWorld) -> str:
    """Restoring needs an archived integration."""
    from keyvault.vault.lifecycle import integration_archive

    integration_archive(integration=w.integration, actor=None, now=NOW)
    return reverse("api:integration_restore", kwargs=_integration(w))


def _failed_reminder(w: ApiWorld) -> str:
    from alerts.models import Channel, ChannelKind, Reminder, ReminderStatus

    channel, _ = Channel.objects.get_or_create(
        kind=ChannelKind.EMAIL, name="Matrix mail", defaults={"email_recipients": "o@example.com"}
    )
    reminder = Reminder.objects.create(
        credential=w.credential,
        channel=channel,
        threshold=-Reminder.objects.count() - 1,
        due_at=NOW,
        created_at=NOW,
        status=ReminderStatus.FAILED,
        attempts=8,
        last_error="Slack answered HTTP 404 (no_service)",
    )
    return reverse("api:reminder_retry", kwargs={"reminder_id": reminder.pk})


def _new_integration(w: ApiWorld) -> dict[str, Any]:
    return {
        "name": f"Matrix {new_token()[:10]}",
        "provider": "atlassian",
        "credential": {"scim_url": ATLASSIAN_URL, "token": new_token()},
    }


API_ROUTES: dict[str, ApiRoute] = {
    "api:schema": ApiRoute(lambda w: reverse("api:schema"), scopes={"GET": ""}, public=True),
    "api:docs": ApiRoute(lambda w: reverse("api:docs"), scopes={"GET": ""}, public=True),
    "api:integrations": ApiRoute(
        lambda w: reverse("api:integrations"),
        scopes={"GET": Scope.READ, "POST": Scope.WRITE},
        bodies={"POST": _new_integration},
        ok_status={"POST": 201},
    ),
    "api:integration": ApiRoute(
        lambda w: reverse("api:integration", kwargs=_integration(w)),
        scopes={"GET": Scope.READ, "PATCH": Scope.WRITE},
        bodies={"PATCH": lambda w: {"owner": "Changed by the matrix"}},
    ),
    "api:credential_add": ApiRoute(
        _revoked,
        scopes={"POST": Scope.WRITE},
        bodies={"POST": lambda w: {"scim_url": ATLASSIAN_URL, "token": new_token()}},
        ok_status={"POST": 201},
    ),
    "api:credential_rotate": ApiRoute(
        lambda w: reverse("api:credential_rotate", kwargs=_integration(w)),
        scopes={"POST": Scope.WRITE},
        bodies={"POST": lambda w: {"token": new_token(), "reason": "matrix", "idp_updated": "yes"}},
        ok_status={"POST": 201},
    ),
    "api:credential_revoke": ApiRoute(
        lambda w: reverse("api:credential_revoke", kwargs=_integration(w)),
        scopes={"POST": Scope.WRITE},
        bodies={"POST": lambda w: {"reason": "matrix"}},
    ),
    "api:integration_archive": ApiRoute(
        lambda w: reverse("api:integration_archive", kwargs=_integration(w)),
        scopes={"POST": Scope.WRITE},
    ),
    "api:integration_restore": ApiRoute(_archived, scopes={"POST": Scope.WRITE}),
    "api:credential_reveal": ApiRoute(
        lambda w: reverse("api:credential_reveal", kwargs={"credential_id": w.credential.pk}),
        scopes={"POST": Scope.REVEAL},
    ),
    "api:credential_correct_dates": ApiRoute(
        lambda w: reverse(
            "api:credential_correct_dates", kwargs={"credential_id": w.credential.pk}
        ),
        scopes={"POST": Scope.WRITE},
        bodies={"POST": lambda w: {"expires_at": "2027-05-01T00:00:00Z", "reason": "matrix"}},
    ),
    "api:reminders": ApiRoute(lambda w: reverse("api:reminders"), scopes={"GET": Scope.READ}),
    "api:reminder_retry": ApiRoute(_failed_reminder, scopes={"POST": Scope.WRITE}),
    "api:audit_events": ApiRoute(lambda w: reverse("api:audit_events"), scopes={"GET": Scope.READ}),
    "api:compliance": ApiRoute(lambda w: reverse("api:compliance"), scopes={"GET": Scope.READ}),
    "api:not_found": ApiRoute(lambda w: "/api/v1/no-such-endpoint/", scopes={}, not_found=True),
}
