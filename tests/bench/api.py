"""The API's list of integrations against the HTML dashboard, on the same data: the first page
of each (50 rows), at two table sizes. Targets: the API's query count is the same at both sizes,
and its time is within 1.5x of the dashboard's (the API skips the page count and the template,
so it should be cheaper)."""

from __future__ import annotations

from datetime import datetime

from django.test import Client

from tests.bench import data
from tests.bench.harness import Figure, measure_interleaved

API_URL = "/api/v1/integrations/"
#: The API may take this much longer than the dashboard for the same rows.
MAX_RATIO = 1.5


def _clients() -> tuple[Client, Client]:
    """(a signed-in admin's browser, the same admin's API client with a read token)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from keyvault.accounts.services import user_create
    from keyvault.api.tokens import api_token_create
    from keyvault.models import Role

    user = get_user_model().objects.filter(username="bench-api").first() or user_create(
        username="bench-api", password="bench-password-unused", role=Role.ADMIN
    )
    _, raw = api_token_create(
        user=user, name="bench", scopes=["read"], expires_at=None, actor=None, now=timezone.now()
    )
    browser = Client()
    browser.force_login(user)
    return browser, Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def api_list_figure(*, sizes: tuple[int, ...], now: datetime, repeat: int = 7) -> Figure:
    fig = Figure("API list of integrations vs the dashboard (first page, 50 rows)")
    browser, api = _clients()
    queries, ratios = [], []
    for size in sizes:
        data.wipe()
        revoked = round(size * data.REVOKED_SHARE)
        data.build_credentials(current=size - revoked, revoked=revoked, now=now, prefix=f"i{size} ")
        api.get(API_URL)  # warm caches; records the token's last use (not again for a minute)
        browser.get("/")

        def api_page() -> None:
            response = api.get(API_URL)
            assert response.status_code == 200, response.status_code

        def dashboard_page() -> None:
            response = browser.get("/")
            assert response.status_code == 200, response.status_code

        m = measure_interleaved({"api": api_page, "dashboard": dashboard_page}, repeat=repeat)
        ratio = m["api"].seconds / m["dashboard"].seconds
        queries.append(m["api"].queries)
        ratios.append(ratio)
        fig.rows.append(
            {
                "integrations": size,
                "api_ms": round(m["api"].seconds * 1e3, 1),
                "api_queries": m["api"].queries,
                "dashboard_ms": round(m["dashboard"].seconds * 1e3, 1),
                "dashboard_queries": m["dashboard"].queries,
                "ratio": round(ratio, 2),
            }
        )
        fig.summary[f"api_list_ms_{size}"] = round(m["api"].seconds * 1e3, 1)
        fig.summary[f"api_list_queries_{size}"] = m["api"].queries
        fig.summary[f"api_list_ratio_{size}"] = round(ratio, 3)
    fig.target("API list queries identical at both sizes", len(set(queries)) == 1)
    fig.target(f"API list time <= {MAX_RATIO}x the dashboard's", max(ratios) <= MAX_RATIO)
    return fig
