from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address Django saw (REMOTE_ADDR); proxies are trusted only via gunicorn's
    ``--forwarded-allow-ips``, which rewrites REMOTE_ADDR before Django runs."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
