"""Secrets are write-only: no response body of any API endpoint holds a stored token or SCIM
URL (nor a recognisable part of one), except the reveal endpoint's.

Every API URL is called with every method it offers, by an admin whose token has every scope,
after integrations were created through the API and the pages; each body is searched for every
token and URL stored so far, and for the directory id inside the URLs.
"""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from keyvault.models import Credential
from tests.api.conftest import MakeToken, bearer
from tests.api.routes import API_ROUTES, ApiWorld
from tests.factories import MakeCredential, new_token

SECRET_URL = "https://api.atlassian.com/scim/directory/7c1e2d3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5"
REVEAL = "api:credential_reveal"


def _fragments(secret: str) -> list[str]:
    """The secret and its middle part (a body that held a token cut short still leaks)."""
    return [secret, secret[8:-8]] if len(secret) > 24 else [secret]


def test_no_response_body_holds_a_stored_secret(
    make_credential: MakeCredential, make_token: MakeToken
) -> None:
    credential, token = make_credential(name="Write-only — acme", scim_url=SECRET_URL)
    world = ApiWorld(integration=credential.integration, credential=credential)
    client = bearer(make_token()[1])
    via_api = new_token()
    created = client.post(
        reverse("api:integrations"),
        {
            "name": "Made by API",
            "provider": "atlassian",
            "credential": {"scim_url": SECRET_URL.replace("7c1e", "8d2f"), "token": via_api},
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    secrets = [token, via_api, SECRET_URL, "7c1e2d3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5"]
    bodies: dict[str, bytes] = {"create": created.content}

    for name, route in sorted(API_ROUTES.items()):
        for method in route.scopes:
            if name == REVEAL or route.public:
                continue
            body = route.bodies[method](world) if method in route.bodies else {}
            secrets += _sent_secrets(body)
            response = client.generic(
                method, route.url(world), json.dumps(body), content_type="application/json"
            )
            assert response.status_code < 500, name
            bodies[f"{method} {name}"] = response.content

    assert Credential.objects.count() >= 4  # rotated, added, created: all stored encrypted
    for label, content in bodies.items():
        text = content.decode()
        for secret in secrets:
            for fragment in _fragments(secret):
                assert fragment not in text, f"{label} answered a stored secret"


def _sent_secrets(body: dict[str, Any]) -> list[str]:
    credential = body.get("credential")
    nested = credential if isinstance(credential, dict) else {}
    return [v for v in (body.get("token"), nested.get("token"), nested.get("scim_url")) if v]


def test_only_the_reveal_endpoint_answers_the_secret(
    make_credential: MakeCredential, make_token: MakeToken
) -> None:
    credential, token = make_credential(name="Reveal — acme", scim_url=SECRET_URL)
    url = reverse(REVEAL, kwargs={"credential_id": credential.pk})

    response = bearer(make_token()[1]).post(url)

    assert response.json() == {"scim_url": SECRET_URL, "token": token}
    assert response["Cache-Control"] == "no-store"
