"""A security key in software, for tests that drive keyvault with Django's test client.

It answers a WebAuthn challenge the way a browser relays a real key's answer (the JSON shape of
``navigator.credentials``, attestation "none"): a P-256 key made here signs the authenticator
data and the client data, with the origin the browser would report. The server side — allauth
and fido2 — checks it exactly as it checks a hardware key. Browser journeys use Chromium's own
virtual authenticator instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

#: The host the test client asks for: a WebAuthn relying party is a host name, never an IP.
HOST = "localhost"
ORIGIN = f"http://{HOST}"
#: Where allauth keeps the open challenge in the session.
STATE_SESSION_KEY = "mfa.webauthn.state"


@dataclass
class SoftKey:
    """One credential on a pretend authenticator, bound to ``rp_id``."""

    rp_id: str = HOST
    origin: str = ORIGIN
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    counter: int = 0

    def _client_data(self, kind: str, challenge: str) -> CollectedClientData:
        return CollectedClientData.create(type=kind, challenge=challenge, origin=self.origin)

    def _rp_id_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def register(self, challenge: str) -> dict[str, Any]:
        """The browser's answer to ``navigator.credentials.create`` for ``challenge``."""
        credential_data = AttestedCredentialData.create(
            Aaguid.NONE,
            self.credential_id,
            ES256.from_cryptography_key(self.private_key.public_key()),
        )
        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT
        auth_data = AuthenticatorData.create(
            self._rp_id_hash(), flags, self.counter, credential_data
        )
        attestation = AttestationObject.create("none", auth_data, {})
        client_data = self._client_data("webauthn.create", challenge)
        return self._credential(
            {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
            },
            extensions={"credProps": {"rk": False}},
        )

    def sign(self, challenge: str) -> dict[str, Any]:
        """The browser's answer to ``navigator.credentials.get`` for ``challenge``."""
        self.counter += 1
        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV
        auth_data = AuthenticatorData.create(self._rp_id_hash(), flags, self.counter)
        client_data = self._client_data("webauthn.get", challenge)
        signature = self.private_key.sign(
            bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256())
        )
        return self._credential(
            {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": None,
            },
            extensions={},
        )

    def _credential(
        self, response: dict[str, Any], *, extensions: dict[str, Any]
    ) -> dict[str, Any]:
        """A PublicKeyCredential of this key, as JSON, around an authenticator ``response``."""
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": extensions,
        }


def open_challenge(client: Any) -> str:
    """The challenge keyvault last asked this client's browser to answer (from its session)."""
    state = client.session[STATE_SESSION_KEY]
    return str(state["challenge"])


def as_field(answer: dict[str, Any]) -> str:
    """``answer`` as the page's hidden ``credential`` field carries it."""
    return json.dumps(answer)
