"""A real OpenID Connect provider on 127.0.0.1 for SSO tests: PyPI's ``oidc-provider-mock``
(authlib's OpenID Connect server behind a sign-in form) run as a subprocess over plain HTTP.

::

    with OidcProvider() as idp:
        idp.issuer                          # http://127.0.0.1:<port>
        idp.set_user("ann", email="ann@example.com", groups=["keyvault-admins"])
        callback = idp.authorize(location, "ann")   # sign ann in at the provider's form

What the provider does, read from its source (0.3):

- ``PUT /users/<sub>`` with a JSON object replaces that subject's claims. Standard claims are
  released by their scope (``email`` by ``email``, ``name`` … by ``profile``); any other claim,
  such as ``groups``, is in every ID token and userinfo answer.
- Every authorization request shows its form (it keeps no session of its own), so every answer
  is a fresh sign-in: ``prompt=login`` is accepted, ``max_age`` ignored, and the ID token's
  ``auth_time`` is the moment the code was exchanged (authlib's default when the code carries
  none).
- Any client id and secret are accepted, and any redirect URI.
- Its discovery document names an ``end_session_endpoint`` (RP-Initiated Logout): a page that
  shows the request's parameters and an "End session" button, which sends the browser to the
  ``post_logout_redirect_uri``. With no session of its own to end, the next sign-in shows the
  sign-in form as every one does.
"""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any

#: The groups the SSO tests map to keyvault's roles (KEYVAULT_OIDC_ADMIN_GROUPS / _AUDITOR_GROUPS).
ADMIN_GROUP = "keyvault-admins"
AUDITOR_GROUP = "keyvault-auditors"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OidcProvider:
    """``oidc-provider-mock`` listening on 127.0.0.1; stopped (by its pid) on exit."""

    def __init__(self, *, startup_seconds: float = 20) -> None:
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._startup_seconds = startup_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __enter__(self) -> OidcProvider:
        command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1"]
        self._process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self._startup_seconds
        while True:
            try:
                with urllib.request.urlopen(self.discovery_url, timeout=1):
                    return self
            except (urllib.error.URLError, ConnectionError):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("oidc-provider-mock did not start") from None
                time.sleep(0.1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the provider process (its own pid only) and wait for it."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def set_user(self, sub: str, **claims: Any) -> None:
        """Give subject ``sub`` exactly these claims from its next sign-in on (``groups=[...]``
        for the groups claim; leave it out for a user in no group)."""
        request = urllib.request.Request(
            f"{self.issuer}/users/{urllib.parse.quote(sub)}",
            data=json.dumps(claims).encode(),
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 204, response.status

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Submit the provider's sign-in form for ``sub`` at ``authorization_url`` (where the
        relying party redirected to) and return the URL the provider sends the browser back
        to: the relying party's callback with ``code`` and ``state``."""
        assert authorization_url.startswith(self.issuer + "/"), authorization_url
        return self._submit(authorization_url, {"sub": sub})

    def _submit(self, url: str, fields: dict[str, str]) -> str:
        """POST a form of the provider's; the address it redirects the browser to."""
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(fields).encode(), method="POST"
        )
        try:
            self._opener.open(request, timeout=5)
        except urllib.error.HTTPError as redirect:
            if redirect.code in (302, 303):
                return str(redirect.headers["Location"])
            raise
        raise AssertionError("the provider did not redirect back")

    def discovery(self) -> dict[str, Any]:
        """The provider's discovery document."""
        with urllib.request.urlopen(self.discovery_url, timeout=5) as response:
            document: dict[str, Any] = json.load(response)
        return document

    def end_session(self, end_session_url: str) -> str:
        """Open the provider's sign-out page at ``end_session_url`` (where the relying party
        redirected to), press its "End session" button and return where the provider sends
        the browser next (the ``post_logout_redirect_uri``)."""
        assert end_session_url.startswith(self.issuer + "/"), end_session_url
        with urllib.request.urlopen(end_session_url, timeout=5) as response:
            page = response.read().decode()
        form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
        assert form, page
        fields = re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2))
        return self._submit(
            self.issuer + html.unescape(form.group(1)),
            {name: html.unescape(value) for name, value in fields},
        )
