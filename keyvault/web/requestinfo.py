from __future__ import annotations

import hmac

from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address Django saw (REMOTE_ADDR); proxies are trusted only via gunicorn's
    ``--forwarded-allow-ips``, which rewrites REMOTE_ADDR before Django runs."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def bearer_matches(request: HttpRequest, expected: str) -> bool:
    """Whether the request sends ``Authorization: Bearer <expected>`` (compared in constant
    time); always False when ``expected`` is empty."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())
