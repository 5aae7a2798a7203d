"""Who may do what, for every named URL in the URL conf.

The URL names come from walking the resolver, so a new URL without a row in ``ROUTES`` fails
``test_every_named_url_has_a_row`` (and its matrix cases) until someone decides who may use it.

Adding a URL is one line in ``ROUTES``: how to build it, and the access level of GET and POST:

* ``PUBLIC``     anyone, signed in or not (login, healthz)
* ``SIGNED_IN``  any signed-in user, whatever their role (logout)
* ``VIEWER``     admins and auditors (read pages)
* ``ADMIN``      admins only (every write, every reveal)
* ``…_NO``       the same people get through the role check, then 405 (method not offered)
* ``TOKEN_ONLY`` the REST API: no session of any role opens it (401 problem details); who may
                 call it with a token is the token matrix's (``tests/api/test_api_matrix.py``),
                 whose rows (``tests/api/routes.py``) become rows here

Anonymous visitors are sent to the login page for everything but ``PUBLIC``; signed-in users
without a role, and auditors on ``ADMIN`` URLs, get 403 and leave no trace.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from keyvault.accounts.services import user_create
from keyvault.accounts.sso_settings import PROVIDER_ID
from keyvault.models import AuditEvent, Credential, Integration, Role
from tests.api.routes import API_ROUTES, ApiRoute
from tests.factories import ATLASSIAN_URL, NOW, PASSWORD, MakeCredential, new_token


@dataclass(frozen=True)
class Access:
    """Who gets through, and whether the method is then offered (else 405)."""

    roles: frozenset[str]
    method_allowed: bool = True
    token_only: bool = False  # refused with 401 whoever is signed in (the REST API)


ROLES = ("anonymous", "no_role", "auditor", "admin")

PUBLIC = Access(frozenset(ROLES))
PUBLIC_NO = Access(PUBLIC.roles, method_allowed=False)
SIGNED_IN = Access(frozenset({"no_role", "auditor", "admin"}))
SIGNED_IN_NO = Access(SIGNED_IN.roles, method_allowed=False)
VIEWER = Access(frozenset({"auditor", "admin"}))
VIEWER_NO = Access(VIEWER.roles, method_allowed=False)
ADMIN = Access(frozenset({"admin"}))
ADMIN_NO = Access(ADMIN.roles, method_allowed=False)
TOKEN_ONLY = Access(frozenset(), token_only=True)


@dataclass
class World:
    """Objects URLs point at; a row's builder may also create what it needs itself."""

    integration: Integration
    credential: Credential
    extra: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[World], str]
Data = Callable[[World], dict[str, str]]


@dataclass(frozen=True)
class Route:
    url: Builder
    get: Access
    post: Access
    data: Data | None = None  # POST body (the admin's must succeed); empty when None
    # The status(es) that mean "got through" per method, when known; otherwise any status
    # below 400 that is not a redirect to the login page.
    ok_status: dict[str, int | tuple[int, ...]] = field(default_factory=dict)


def _integration(w: World) -> dict[str, Any]:
    return {"integration_id": w.integration.pk}


def _paste(w: World) -> dict[str, str]:
    return {
        "name": f"New {new_token()[:12]}",
        "provider": "atlassian",
        "identity_provider": "okta",
        "scim_url": ATLASSIAN_URL,
        "token": new_token(),
        "issued_on": NOW.date().isoformat(),
    }


def _edit(w: World) -> dict[str, str]:
    return {
        "name": w.integration.name,
        "provider": w.integration.provider,
        "identity_provider": w.integration.identity_provider,
        "owner": "Changed by the matrix",
    }


def _channel(w: World) -> dict[str, Any]:
    """An email channel (a test notification to it goes to the in-memory mail backend)."""
    from alerts.models import Channel, ChannelKind

    if "channel" not in w.extra:
        w.extra["channel"] = Channel.objects.create(
            kind=ChannelKind.EMAIL, name="Matrix mail", email_recipients="ops@example.com"
        )
    return {"channel_id": w.extra["channel"].pk}


def _audience_override(w: World) -> dict[str, Any]:
    """The channel, linked to the integration, with an audience override for it (each admin
    POST removes it, so it is made again for every call)."""
    from alerts.models import AudienceOverride, Channel

    channel = _channel(w)
    Channel.objects.get(pk=channel["channel_id"]).integrations.add(w.integration)
    AudienceOverride.objects.get_or_create(
        channel_id=channel["channel_id"], integration=w.integration, escalate_from_days=7
    )
    return {**channel, "integration_id": w.integration.pk}


def _failed_reminder(w: World) -> dict[str, Any]:
    """The channel and a failed reminder on it (each admin POST retries it, so one per call)."""
    from alerts.models import Reminder, ReminderStatus

    channel = _channel(w)
    threshold = -Reminder.objects.count() - 1  # a fresh row for every request
    reminder = Reminder.objects.create(
        credential=w.credential,
        channel_id=channel["channel_id"],
        threshold=threshold,
        due_at=NOW,
        created_at=NOW,
        status=ReminderStatus.FAILED,
        attempts=8,
        last_error="Slack answered HTTP 404 (no_service)",
    )
    return {**channel, "reminder_id": reminder.pk}


def _webhook_channel(w: World) -> dict[str, Any]:
    """A webhook channel (its signing secret is what the rotate URL replaces)."""
    from tests.factories import webhook_channel_make

    if "webhook_channel" not in w.extra:
        w.extra["webhook_channel"], _ = webhook_channel_make(
            name="Matrix webhook", url="https://receiver.example.com/matrix"
        )
    return {"channel_id": w.extra["webhook_channel"].pk}


def _channel_new(w: World) -> dict[str, str]:
    return {
        "name": f"#matrix-{new_token()[:8]}",
        "webhook_url": "https://hooks.slack.com/services/T0MATRIX/B0MATRIX/notarealwebhook",
    }


def _rotate(w: World) -> dict[str, str]:
    return {
        "credential": str(w.credential.pk),
        "token": new_token(),
        "reason": "matrix",
        "idp_updated": "yes",
    }


def _idp_pending(w: World) -> dict[str, str]:
    """The current credential as rotated in with "not yet": there is something to confirm."""
    Credential.objects.filter(pk=w.credential.pk).update(idp_pending=True)
    return {"credential": str(w.credential.pk)}


def _own_token(w: World) -> dict[str, Any]:
    """A token of the fixture's admin (``alice``)."""
    from django.contrib.auth import get_user_model

    from keyvault.api.tokens import api_token_create

    if "api_token" not in w.extra:
        w.extra["api_token"], _ = api_token_create(
            user=get_user_model().objects.get(username="alice"),
            name="matrix",
            scopes=["read"],
            expires_at=None,
            actor=None,
            now=NOW,
        )
    return {"token_id": w.extra["api_token"].pk}


def _revoked(w: World) -> str:
    """The add-credential page needs an integration without a current credential."""
    from keyvault.rotation.services import credential_revoke

    if "revoked" not in w.extra:
        w.extra["revoked"] = credential_revoke(
            credential=w.credential, reason="matrix", actor=None, now=NOW
        )
    return reverse("keyvault:credential_add", kwargs=_integration(w))


def _member(w: World) -> dict[str, str]:
    """An auditor the users pages act on."""
    if "member" not in w.extra:
        w.extra["member"] = user_create(username="matrix-bob", password=PASSWORD, role=Role.AUDITOR)
    return {"username": w.extra["member"].get_username()}


def _invited(w: World) -> dict[str, str]:
    """A user invited by the admin, who has not set a password yet."""
    from keyvault.accounts.services import user_add

    if "invited" not in w.extra:
        w.extra["invited"] = user_add(
            username="matrix-invited",
            email="invited@example.com",
            role=Role.AUDITOR,
            actor=get_user_model().objects.get(username="alice"),
            now=NOW,
        )
    return {"username": w.extra["invited"].get_username()}


def _invite_link(w: World) -> str:
    from django.utils import timezone

    from keyvault.accounts.invites import invite_token_make

    _invited(w)
    token = invite_token_make(user=w.extra["invited"], now=timezone.now())
    return f"{reverse('keyvault:invite_accept')}?{urlencode({'t': token})}"


def _users_url(name: str, who: Callable[[World], dict[str, str]] = _member) -> Builder:
    return lambda w: reverse(f"keyvault:{name}", kwargs=who(w))


NEW_PASSWORD = "matrix-new-password-2026"


def _checkable(w: World) -> dict[str, Any]:
    """An integration whose key has a live check, stored with a URL on 127.0.0.1 that the
    check refuses at once (loopback is not allowed in tests unless a test allows it)."""
    from tests.factories import credential_make

    if "checkable" not in w.extra:
        w.extra["checkable"], _ = credential_make(
            actor=get_user_model().objects.get(username="alice"),
            name="Matrix — live check",
            provider="generic_scim",
            scim_url="https://127.0.0.1:9/scim/v2",
        )
    return {"integration_id": w.extra["checkable"].integration_id}


def _calendar_feed(w: World) -> str:
    """The feed address of the world's admin (made once; the token sits in the URL)."""
    from keyvault.feeds.calendar import calendar_feed_create

    if "feed_token" not in w.extra:
        admin = get_user_model().objects.get(username="alice")
        w.extra["feed_token"] = calendar_feed_create(user=admin, now=NOW)
    return reverse("keyvault:calendar_feed", kwargs={"token": w.extra["feed_token"]})


def _import_file(w: World) -> dict[str, Any]:
    """A one-row spreadsheet (metadata only) and a dry run: the admin's POST checks it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = f"name,provider,expires\nImported {new_token()[:10]},okta,2026-12-01\n".encode()
    return {"intent": "dry_run", "file": SimpleUploadedFile("inventory.csv", data)}


ROUTES: dict[str, Route] = {
    # django-allauth's sign-in (registration is closed: no signup URL is routed).
    "account_login": Route(lambda w: reverse("account_login"), get=PUBLIC, post=PUBLIC),
    # 503 is an answer too: the reminder scan has not run in the test database.
    "healthz": Route(
        lambda w: reverse("healthz"), get=PUBLIC, post=PUBLIC_NO, ok_status={"GET": (200, 503)}
    ),
    # Off (404) unless KEYVAULT_METRICS_TOKEN is set; tests/keyvault/test_metrics.py covers
    # the bearer token (401 without it).
    "metrics": Route(
        lambda w: reverse("metrics"), get=PUBLIC, post=PUBLIC_NO, ok_status={"GET": 404}
    ),
    # The address carries its own token: no session needed (a wrong one is 404).
    "keyvault:calendar_feed": Route(
        _calendar_feed, get=PUBLIC, post=PUBLIC_NO, ok_status={"GET": 200}
    ),
    "keyvault:calendar": Route(
        lambda w: reverse("keyvault:calendar"),
        get=VIEWER,
        post=VIEWER,
        ok_status={"GET": 200, "POST": 200},
    ),
    "keyvault:inventory_import": Route(
        lambda w: reverse("keyvault:inventory_import"),
        get=ADMIN,
        post=ADMIN,
        data=_import_file,
        ok_status={"GET": 200, "POST": 200},
    ),
    "keyvault:inventory_export": Route(
        lambda w: reverse("keyvault:inventory_export"),
        get=VIEWER_NO,
        post=VIEWER,
        data=lambda w: {"format": "xlsx"},
        ok_status={"POST": 200},
    ),
    # allauth's sign-out: GET only asks "sign out?" (a link or a prefetch never signs anyone
    # out), POST signs out. Public because there is nothing behind it: an anonymous visitor is
    # sent to the sign-in page (without ``next``), exactly as after signing out.
    "account_logout": Route(lambda w: reverse("account_logout"), get=PUBLIC, post=PUBLIC),
    # SSO (allauth's openid_connect provider): not configured in the matrix, so the provider is
    # unknown (404) to everyone; tests/keyvault/test_sso.py drives them against a real provider.
    "openid_connect_login": Route(
        lambda w: reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}),
        get=PUBLIC,
        post=PUBLIC,
        ok_status={"GET": 404, "POST": 404},
    ),
    "openid_connect_callback": Route(
        lambda w: reverse("openid_connect_callback", kwargs={"provider_id": PROVIDER_ID}),
        get=PUBLIC,
        post=PUBLIC,
        ok_status={"GET": 404, "POST": 404},
    ),
    "socialaccount_login_cancelled": Route(
        lambda w: reverse("socialaccount_login_cancelled"), get=PUBLIC, post=PUBLIC_NO
    ),
    # Reveal confirmed at the identity provider; users without SSO are sent back (302).
    "keyvault:credential_reveal_sso": Route(
        lambda w: reverse("keyvault:credential_reveal_sso", args=[w.credential.pk]),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:credential_reveal_sso_done": Route(
        lambda w: reverse("keyvault:credential_reveal_sso_done", args=[w.credential.pk]),
        get=ADMIN,
        post=ADMIN_NO,
        ok_status={"GET": 302},
    ),
    # allauth's second-factor pages (keyvault.accounts.signin_urls). They are any signed-in
    # user's own: whoever may sign in may protect their account. A session that signed in
    # long ago (here: force_login, never authenticated) is first asked for its password again
    # (302 to account_reauthenticate); pages about a second factor the user does not have
    # answer 404.
    "account_reauthenticate": Route(
        lambda w: reverse("account_reauthenticate"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 200, "POST": 200},
    ),
    # allauth's overview is the account page here: a redirect, whatever the method.
    "mfa_index": Route(lambda w: reverse("mfa_index"), get=SIGNED_IN, post=SIGNED_IN),
    # Only during a sign-in waiting for its code; otherwise back to the sign-in page.
    "mfa_authenticate": Route(
        lambda w: reverse("mfa_authenticate"),
        get=PUBLIC,
        post=PUBLIC,
        ok_status={"GET": 302, "POST": 302},
    ),
    "mfa_reauthenticate": Route(
        lambda w: reverse("mfa_reauthenticate"), get=SIGNED_IN, post=SIGNED_IN
    ),
    "mfa_activate_totp": Route(
        lambda w: reverse("mfa_activate_totp"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 302, "POST": 302},
    ),
    "mfa_deactivate_totp": Route(
        lambda w: reverse("mfa_deactivate_totp"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 404, "POST": 404},
    ),
    "mfa_view_recovery_codes": Route(
        lambda w: reverse("mfa_view_recovery_codes"),
        get=SIGNED_IN,
        post=SIGNED_IN_NO,
        ok_status={"GET": 404},
    ),
    "mfa_generate_recovery_codes": Route(
        lambda w: reverse("mfa_generate_recovery_codes"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 302, "POST": 302},
    ),
    # allauth looks for the codes before the method: 404 either way without codes.
    "mfa_download_recovery_codes": Route(
        lambda w: reverse("mfa_download_recovery_codes"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 404, "POST": 404},
    ),
    # Security keys (WebAuthn): the list is the account page (a redirect); adding and removing
    # one first asks for the password again (302), like the authenticator app.
    "mfa_list_webauthn": Route(
        lambda w: reverse("mfa_list_webauthn"), get=SIGNED_IN, post=SIGNED_IN
    ),
    "mfa_add_webauthn": Route(
        lambda w: reverse("mfa_add_webauthn"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 302, "POST": 302},
    ),
    "mfa_reauthenticate_webauthn": Route(
        lambda w: reverse("mfa_reauthenticate_webauthn"), get=SIGNED_IN, post=SIGNED_IN
    ),
    "mfa_remove_webauthn": Route(
        lambda w: reverse("mfa_remove_webauthn", kwargs={"pk": 1}),
        get=SIGNED_IN,
        post=SIGNED_IN,
        ok_status={"GET": 302, "POST": 302},
    ),
    "keyvault:dashboard": Route(
        lambda w: reverse("keyvault:dashboard"), get=VIEWER, post=VIEWER_NO
    ),
    "keyvault:integration_create": Route(
        lambda w: reverse("keyvault:integration_create"),
        get=ADMIN,
        post=ADMIN,
        data=_paste,
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:integration_detail": Route(
        lambda w: reverse("keyvault:integration_detail", kwargs=_integration(w)),
        get=VIEWER,
        post=VIEWER_NO,
    ),
    "keyvault:integration_edit": Route(
        lambda w: reverse("keyvault:integration_edit", kwargs=_integration(w)),
        get=ADMIN,
        post=ADMIN,
        data=_edit,
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:credential_dates_correct": Route(
        lambda w: reverse("keyvault:credential_dates_correct", kwargs=_integration(w)),
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {
            "credential": str(w.credential.pk),
            "issued_on": w.credential.issued_at.date().isoformat(),
            "expires_on": "2027-05-01",
            "reason": "matrix",
        },
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:credential_expiry_confirm": Route(
        lambda w: reverse("keyvault:credential_expiry_confirm", kwargs=_integration(w)),
        get=ADMIN_NO,
        post=ADMIN,
        data=lambda w: {"credential": str(w.credential.pk)},
        ok_status={"POST": 302},
    ),
    "keyvault:integration_reminder_retry": Route(
        lambda w: reverse(
            "keyvault:integration_reminder_retry",
            kwargs={
                "integration_id": w.integration.pk,
                "reminder_id": _failed_reminder(w)["reminder_id"],
            },
        ),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:integrations_archived": Route(
        lambda w: reverse("keyvault:integrations_archived"),
        get=VIEWER,
        post=VIEWER_NO,
        ok_status={"GET": 200},
    ),
    "keyvault:integration_archive": Route(
        lambda w: reverse("keyvault:integration_archive", kwargs=_integration(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:integration_restore": Route(
        lambda w: reverse("keyvault:integration_restore", kwargs=_integration(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:credential_reveal": Route(
        lambda w: reverse("keyvault:credential_reveal", kwargs={"credential_id": w.credential.pk}),
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {"password": PASSWORD},
        ok_status={"GET": 200, "POST": 200},
    ),
    "keyvault:credential_check": Route(
        lambda w: reverse("keyvault:credential_check", kwargs=_checkable(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:replacement_check": Route(
        lambda w: reverse("keyvault:replacement_check", kwargs=_checkable(w)),
        get=ADMIN_NO,
        post=ADMIN,
        data=lambda w: {"token": new_token()},
        ok_status={"POST": 200},
    ),
    "alerts:channel_list": Route(
        lambda w: reverse("alerts:channel_list"), get=VIEWER, post=VIEWER_NO
    ),
    "alerts:channel_create": Route(
        lambda w: reverse("alerts:channel_create", kwargs={"kind": "slack"}),
        get=ADMIN,
        post=ADMIN,
        data=_channel_new,
        ok_status={"GET": 200, "POST": 302},
    ),
    "alerts:channel_detail": Route(
        lambda w: reverse("alerts:channel_detail", kwargs=_channel(w)),
        get=VIEWER,
        post=VIEWER_NO,
    ),
    "alerts:channel_edit": Route(
        lambda w: reverse("alerts:channel_edit", kwargs=_channel(w)),
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {"name": "Matrix mail (renamed)", "email_recipients": "ops@example.com"},
        ok_status={"GET": 200, "POST": 302},
    ),
    "alerts:channel_delete": Route(
        lambda w: reverse("alerts:channel_delete", kwargs=_channel(w)),
        get=ADMIN,
        post=ADMIN,
        ok_status={"GET": 200, "POST": 302},
    ),
    "alerts:audience_override_set": Route(
        lambda w: reverse("alerts:audience_override_set", kwargs=_channel(w)),
        get=ADMIN_NO,
        post=ADMIN,
        data=lambda w: {"integration": str(w.integration.pk), "escalate_from_days": "3"},
        ok_status={"POST": 302},
    ),
    "alerts:audience_override_clear": Route(
        lambda w: reverse("alerts:audience_override_clear", kwargs=_audience_override(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "alerts:reminder_retry": Route(
        lambda w: reverse("alerts:reminder_retry", kwargs=_failed_reminder(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:credential_rotate": Route(
        lambda w: reverse("keyvault:credential_rotate", kwargs=_integration(w)),
        get=ADMIN,
        post=ADMIN,
        data=_rotate,
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:credential_idp_confirm": Route(
        lambda w: reverse("keyvault:credential_idp_confirm", kwargs=_integration(w)),
        get=ADMIN_NO,
        post=ADMIN,
        data=_idp_pending,
        ok_status={"POST": 302},
    ),
    "keyvault:credential_revoke": Route(
        lambda w: reverse("keyvault:credential_revoke", kwargs=_integration(w)),
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {"credential": str(w.credential.pk), "reason": "matrix"},
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:credential_add": Route(
        _revoked,
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {"scim_url": ATLASSIAN_URL, "token": new_token()},
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:integration_history": Route(
        lambda w: reverse("keyvault:integration_history", kwargs=_integration(w)),
        get=VIEWER,
        post=VIEWER_NO,
    ),
    "keyvault:audit_log": Route(
        lambda w: reverse("keyvault:audit_log"), get=VIEWER, post=VIEWER_NO
    ),
    "keyvault:audit_export": Route(
        lambda w: reverse("keyvault:audit_export"),
        get=VIEWER_NO,
        post=VIEWER,
        data=lambda w: {"format": "csv"},
        ok_status={"POST": 200},
    ),
    "keyvault:compliance": Route(
        lambda w: reverse("keyvault:compliance"), get=VIEWER, post=VIEWER_NO
    ),
    "keyvault:compliance_export": Route(
        lambda w: reverse("keyvault:compliance_export"),
        get=VIEWER_NO,
        post=VIEWER,
        data=lambda w: {"date_from": "2026-01-01", "date_to": "2026-12-31"},
        ok_status={"POST": 200},
    ),
    "alerts:channel_rotate_secret": Route(
        lambda w: reverse("alerts:channel_rotate_secret", kwargs=_webhook_channel(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 200},
    ),
    "keyvault:user_list": Route(lambda w: reverse("keyvault:user_list"), get=ADMIN, post=ADMIN_NO),
    "keyvault:user_invite": Route(
        lambda w: reverse("keyvault:user_invite"),
        get=ADMIN,
        post=ADMIN,
        data=lambda w: {
            "username": f"new-{new_token()[:8]}",
            "email": f"{new_token()[:8]}@example.com",
            "role": "auditor",
        },
        ok_status={"GET": 200, "POST": 302},
    ),
    "keyvault:user_detail": Route(_users_url("user_detail"), get=ADMIN, post=ADMIN_NO),
    "keyvault:user_role": Route(
        _users_url("user_role"),
        get=ADMIN_NO,
        post=ADMIN,
        data=lambda w: {"role": "admin"},
        ok_status={"POST": 302},
    ),
    "keyvault:user_deactivate": Route(
        _users_url("user_deactivate"), get=ADMIN_NO, post=ADMIN, ok_status={"POST": 302}
    ),
    "keyvault:user_reactivate": Route(
        _users_url("user_reactivate"), get=ADMIN_NO, post=ADMIN, ok_status={"POST": 302}
    ),
    "keyvault:user_unlock": Route(
        _users_url("user_unlock"), get=ADMIN_NO, post=ADMIN, ok_status={"POST": 302}
    ),
    # The member has no second factor: "Nothing changed" and back to their page.
    "keyvault:user_mfa_reset": Route(
        _users_url("user_mfa_reset"), get=ADMIN_NO, post=ADMIN, ok_status={"POST": 302}
    ),
    "keyvault:user_invite_renew": Route(
        _users_url("user_invite_renew", _invited),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:account": Route(
        lambda w: reverse("keyvault:account"),
        get=SIGNED_IN,
        post=SIGNED_IN,
        data=lambda w: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        ok_status={"GET": 200, "POST": 302},
    ),
    # The set-password link is its own credential: no sign-in needed.
    "keyvault:invite_accept": Route(
        _invite_link,
        get=PUBLIC,
        post=PUBLIC,
        data=lambda w: {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        ok_status={"GET": 200, "POST": 302},
    ),
    "alerts:channel_test": Route(
        lambda w: reverse("alerts:channel_test", kwargs=_channel(w)),
        get=ADMIN_NO,
        post=ADMIN,
        ok_status={"POST": 302},
    ),
    "keyvault:api_tokens": Route(
        lambda w: reverse("keyvault:api_tokens"),
        get=VIEWER,
        post=VIEWER,
        data=lambda w: {"name": f"matrix {new_token()[:6]}", "scopes": "read", "days": "30"},
        ok_status={"GET": 200, "POST": 200},
    ),
    "keyvault:api_token_revoke": Route(
        lambda w: reverse("keyvault:api_token_revoke", kwargs=_own_token(w)),
        get=VIEWER_NO,
        post=VIEWER,
        # The token is the admin's: she revokes it (302); the auditor passes the role check
        # and is told there is no such token of hers (404).
        ok_status={"POST": (302, 404)},
    ),
}


def _api_row(route: ApiRoute) -> Route:
    """A row of the token matrix as sessions see it: the schema and docs are public, the rest
    answers 401 to every session (a signed-in browser is no API client)."""
    if route.not_found:
        return Route(route.url, get=PUBLIC, post=PUBLIC, ok_status={"GET": 404, "POST": 404})
    if route.public:
        return Route(route.url, get=PUBLIC, post=PUBLIC_NO)
    return Route(route.url, get=TOKEN_ONLY, post=TOKEN_ONLY)  # type: ignore[arg-type]


ROUTES.update({name: _api_row(route) for name, route in API_ROUTES.items()})


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, str | None]]:
    """(route, name) of every pattern, names qualified by their namespaces."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _walk(entry, namespace)
        elif isinstance(entry, URLPattern):
            yield str(entry.pattern), f"{prefix}{entry.name}" if entry.name else None


def url_names() -> set[str]:
    return {name for _, name in _walk(get_resolver()) if name}


def test_every_named_url_has_a_row() -> None:
    missing = sorted(url_names() - ROUTES.keys())
    assert not missing, f"add a row to ROUTES for: {', '.join(missing)}"


def test_every_row_names_a_url_that_exists() -> None:
    stale = sorted(ROUTES.keys() - url_names())
    assert not stale, f"remove the rows of URLs that no longer exist: {', '.join(stale)}"


def test_every_url_pattern_has_a_name() -> None:
    unnamed = sorted(route for route, name in _walk(get_resolver()) if name is None)
    assert not unnamed, f"name these URL patterns so the role matrix covers them: {unnamed}"


@pytest.fixture
def world(make_credential: MakeCredential) -> World:
    credential, _ = make_credential(name="Matrix — acme (Okta SCIM)")
    return World(integration=credential.integration, credential=credential)


def client_for(role: str) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "no_role":
        user = get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    elif role == "auditor":
        user = user_create(username="matrix-auditor", password=PASSWORD, role=Role.AUDITOR)
    else:
        # The fixture's admin (``alice``) owns the world; sign in as her so reveals use her
        # password.
        user = get_user_model().objects.get(username="alice")
    client.force_login(user)
    return client


def expected_outcome(access: Access, role: str) -> str:
    if access.token_only:
        return "unauthorized"
    if role not in access.roles:
        return "login" if role == "anonymous" else "forbidden"
    return "ok" if access.method_allowed else "not_allowed"


def outcome_of(response: Any, ok_status: int | tuple[int, ...] | None) -> str:
    if ok_status is not None:
        expected = ok_status if isinstance(ok_status, tuple) else (ok_status,)
        if response.status_code in expected:
            return "ok"
    if response.status_code == 401 and response["Content-Type"] == "application/problem+json":
        return "unauthorized"
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 405:
        return "not_allowed"
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        if location.path == resolve_url(settings.LOGIN_URL) and "next=" in location.query:
            return "login"
    if ok_status is None and response.status_code < 400:
        return "ok"
    return f"status {response.status_code}"


CASES = sorted(
    itertools.product(sorted(url_names() | ROUTES.keys()), ("GET", "POST"), ROLES),
)


@pytest.mark.parametrize(("name", "method", "role"), CASES)
def test_role_matrix(world: World, name: str, method: str, role: str) -> None:
    route = ROUTES.get(name)
    assert route is not None, f"{name} has no row in ROUTES: decide who may use it"
    url = route.url(world)
    client = client_for(role)
    access = route.get if method == "GET" else route.post
    expected = expected_outcome(access, role)
    before = (Integration.objects.count(), Credential.objects.count(), AuditEvent.objects.count())

    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, route.data(world) if route.data else {})

    ok_status = route.ok_status.get(method) if expected == "ok" else None
    assert outcome_of(response, ok_status) == expected, (name, method, role, response.status_code)
    if expected in ("login", "forbidden", "unauthorized"):
        after = (
            Integration.objects.count(),
            Credential.objects.count(),
            AuditEvent.objects.count(),
        )
        assert after == before, "a refused request left a trace"
