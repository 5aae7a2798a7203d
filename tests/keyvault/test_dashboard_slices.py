"""The dashboard sliced and sorted: urgency colours with words, the counts strip and its
filter links, sortable columns, and a query count that does not follow the table size."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from keyvault.models import Credential, CredentialState, Integration
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.providers import ProviderKind
from tests.factories import NOW, MakeCredential


@pytest.fixture(autouse=True)
def _frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def names(response: Any) -> list[str]:
    assert response.status_code == 200
    return [row.integration.name for row in response.context["result"].rows]


def counts(response: Any) -> dict[str, int]:
    return {item.slice.value: item.count for item in response.context["result"].counts}


def text(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def revoke(credential: Credential) -> None:
    Credential.objects.filter(pk=credential.pk).update(
        state=CredentialState.REVOKED, revoked_at=NOW
    )


@pytest.fixture
def sliced(make_credential: MakeCredential) -> None:
    """One integration per case a count tells apart."""
    make_credential(
        name="Expired", issued_at=NOW - timedelta(days=368), expires_at=NOW - timedelta(days=3)
    )
    rejected, _ = make_credential(name="Rejected", expires_at=NOW + timedelta(days=200))
    Credential.objects.filter(pk=rejected.pk).update(
        check_status=CheckStatus.REJECTED, checked_at=NOW
    )
    make_credential(name="Today", expires_at=NOW + timedelta(hours=3))
    make_credential(name="Seven", expires_at=NOW + timedelta(days=7))
    make_credential(name="Eight", expires_at=NOW + timedelta(days=8))
    make_credential(name="Thirty", expires_at=NOW + timedelta(days=30))
    make_credential(name="Thirty-one", expires_at=NOW + timedelta(days=31))
    pending, _ = make_credential(name="IdP pending", expires_at=NOW + timedelta(days=100))
    Credential.objects.filter(pk=pending.pk).update(idp_pending=True)
    legacy, _ = make_credential(name="Legacy", expires_at=NOW + timedelta(days=400))
    Credential.objects.filter(pk=legacy.pk).update(expiry_confirmed=False)
    # Archived: in no count and no row, whatever its credential's state.
    archived, _ = make_credential(
        name="Archived", issued_at=NOW - timedelta(days=368), expires_at=NOW - timedelta(days=1)
    )
    Credential.objects.filter(pk=archived.pk).update(
        idp_pending=True, expiry_confirmed=False, check_status=CheckStatus.REJECTED
    )
    Integration.objects.filter(pk=archived.integration_id).update(archived_at=NOW)
    gone, _ = make_credential(name="Revoked", expires_at=NOW + timedelta(days=2))
    Credential.objects.filter(pk=gone.pk).update(check_status=CheckStatus.REJECTED)
    revoke(gone)


EXPECTED = {
    "expired": {"Expired"},
    "rejected": {"Rejected"},
    "urgent": {"Today", "Seven"},
    "soon": {"Today", "Seven", "Eight", "Thirty"},
    "idp_pending": {"IdP pending"},
    "unconfirmed": {"Legacy"},
}


def test_each_count_counts_the_current_credentials_of_its_slice(
    auditor_client: Client, sliced: None
) -> None:
    response = auditor_client.get("/")

    assert counts(response) == {key: len(rows) for key, rows in EXPECTED.items()}
    page = text(response)
    for words in (
        "1 Expired",
        "1 Rejected by the vendor",
        "2 Due within 7 days",
        "4 Due within 30 days",
        "1 IdP not updated",
        "1 Expiry unconfirmed",
    ):
        assert words in page


@pytest.mark.parametrize("slice_", EXPECTED)
def test_each_count_links_to_exactly_the_rows_it_counts(
    auditor_client: Client, sliced: None, slice_: str
) -> None:
    (item,) = [i for i in auditor_client.get("/").context["result"].counts if i.slice == slice_]
    assert item.url == f"?show={slice_}"

    response = auditor_client.get("/" + item.url)

    assert set(names(response)) == EXPECTED[slice_]
    assert len(names(response)) == item.count
    (active,) = [i for i in response.context["result"].counts if i.active]
    assert active.slice == slice_
    assert active.url == "/"  # the active count links back to every integration
    assert 'aria-current="true"' in response.content.decode()
    assert "Show all" in text(response)


def test_the_due_within_30_days_count_follows_the_due_soon_setting(
    auditor_client: Client, sliced: None, settings: Any
) -> None:
    settings.KEYVAULT_DUE_SOON_DAYS = 14

    response = auditor_client.get("/", {"show": "soon"})

    assert set(names(response)) == {"Today", "Seven", "Eight"}
    assert "3 Due within 14 days" in text(response)


def test_rows_are_coloured_by_urgency_and_say_it_in_words(
    auditor_client: Client, sliced: None
) -> None:
    response = auditor_client.get("/")
    html = response.content.decode()
    classes = {row.integration.name: row.facts.urgency for row in response.context["result"].rows}

    assert classes == {
        "Expired": "red",
        "Today": "red",
        "Seven": "red",
        "Eight": "amber",
        "Thirty": "amber",
        "Thirty-one": "green",
        "IdP pending": "green",
        "Rejected": "red",
        "Legacy": "green",
        "Revoked": "none",
    }
    assert html.count('class="row--red"') == 4
    assert html.count('class="row--amber"') == 2
    page = text(response)
    # Red within 7 days is a red badge with its own glyph; amber keeps "!": never colour alone.
    assert "Seven Atlassian (SCIM API key) ‼ Due in 7 days" in page
    assert "Eight Atlassian (SCIM API key) ! Due in 8 days" in page
    assert "Rejected Atlassian (SCIM API key) ✓ OK ✕ Rejected by the vendor" in page
    assert html.count("badge--urgent") == 2  # Today and Seven
    assert "Legacy Atlassian (SCIM API key) ✓ OK Worst case, unconfirmed" in page
    assert "Archived" not in classes


def test_a_slice_combines_with_a_search_and_the_search_form_keeps_the_slice(
    auditor_client: Client, sliced: None
) -> None:
    response = auditor_client.get("/", {"show": "soon", "q": "th"})

    assert names(response) == ["Thirty"]
    html = response.content.decode()
    assert '<input type="hidden" name="show" value="soon">' in html
    # The counts stay those of every integration, so their links drop the search.
    assert counts(response)["soon"] == 4
    assert 'href="?show=urgent"' in html


SORTED = {
    "name": ["alpha", "Bravo", "Charlie", "Delta", "Echo"],
    "-name": ["Echo", "Delta", "Charlie", "Bravo", "alpha"],
    "provider": ["Delta", "Bravo", "Echo", "Charlie", "alpha"],
    "-provider": ["alpha", "Charlie", "Bravo", "Echo", "Delta"],
    "owner": ["Charlie", "Delta", "Bravo", "Echo", "alpha"],
    "-owner": ["Bravo", "Echo", "Delta", "Charlie", "alpha"],
    "expires": ["alpha", "Charlie", "Bravo", "Echo", "Delta"],
    "-expires": ["Bravo", "Echo", "Charlie", "alpha", "Delta"],
    "status": ["alpha", "Charlie", "Bravo", "Echo", "Delta"],
    "-status": ["Bravo", "Echo", "Charlie", "alpha", "Delta"],
}


GITHUB = {
    "provider": ProviderKind.GITHUB,
    "scim_url": "https://api.github.com/scim/v2/enterprises/acme",
}
SLACK = {"provider": ProviderKind.SLACK, "scim_url": "https://api.slack.com/scim/v2/"}
ENTRA = {"provider": ProviderKind.ENTRA_ID, "scim_url": ""}
#: name, owner, days to expiry, provider (default: Atlassian).
SORTABLE: list[tuple[str, str, int, dict[str, str]]] = [
    ("Echo", "carol", 40, GITHUB),
    ("Bravo", "carol", 40, GITHUB),
    ("alpha", "", 5, SLACK),
    ("Charlie", "Alice", 20, ENTRA),
    ("Delta", "bob", 1, {}),
]


@pytest.fixture
def sortable(make_credential: MakeCredential) -> None:
    """Bravo and Echo tie on every column but the name; alpha has no owner; Delta has no
    current credential (last whichever way its column sorts)."""
    for name, owner, days, provider in SORTABLE:
        credential, _ = make_credential(
            name=name, owner=owner, expires_at=NOW + timedelta(days=days), **provider
        )
    revoke(credential)  # Delta


@pytest.mark.parametrize("sort", SORTED)
def test_each_column_sorts_both_ways_with_a_stable_secondary_order(
    auditor_client: Client, sortable: None, sort: str
) -> None:
    assert names(auditor_client.get("/", {"sort": sort})) == SORTED[sort]


def test_the_default_order_is_the_expires_column_ascending(
    auditor_client: Client, sortable: None
) -> None:
    response = auditor_client.get("/")

    assert names(response) == SORTED["expires"]
    html = response.content.decode()
    assert (
        '<th scope="col" aria-sort="ascending"><a class="sort-link" href="?sort=-expires"' in html
    )


def test_a_column_header_sorts_by_it_then_the_other_way_keeping_slice_and_search(
    auditor_client: Client, sortable: None
) -> None:
    sorts = auditor_client.get("/", {"q": "o", "show": "soon"}).context["result"].sorts
    assert sorts["owner"].url == "?q=o&show=soon&sort=owner"
    assert sorts["owner"].direction == ""

    response = auditor_client.get("/" + sorts["owner"].url)

    assert response.context["result"].sorts["owner"].url == "?q=o&show=soon&sort=-owner"
    assert response.context["result"].sorts["owner"].direction == "ascending"
    assert 'aria-sort="ascending"' in response.content.decode()


def test_pages_keep_the_slice_and_the_order(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    for n in range(51):
        make_credential(name=f"Soon {n:02d}", expires_at=NOW + timedelta(days=10))
    make_credential(name="Later", expires_at=NOW + timedelta(days=200))

    first = auditor_client.get("/", {"show": "soon", "sort": "-name"})
    second = auditor_client.get("/", {"show": "soon", "sort": "-name", "page": 2})

    assert 'rel="next" href="?show=soon&amp;sort=-name&amp;page=2"' in first.content.decode()
    assert names(second) == ["Soon 00"]
    assert 'rel="prev" href="?show=soon&amp;sort=-name&amp;page=1"' in second.content.decode()


@pytest.mark.parametrize(
    ("params", "warning"),
    [
        ({"show": "everything"}, "That filter is not one this page offers; it was ignored."),
        ({"show": "EXPIRED"}, "That filter is not one this page offers; it was ignored."),
        ({"sort": "secret"}, "That sort order is not one this page offers; it was ignored."),
        ({"sort": "name; DROP"}, "That sort order is not one this page offers; it was ignored."),
        ({"sort": "--name"}, "That sort order is not one this page offers; it was ignored."),
    ],
)
def test_a_filter_or_sort_no_link_carries_is_ignored_with_a_warning(
    auditor_client: Client, sortable: None, params: dict[str, str], warning: str
) -> None:
    response = auditor_client.get("/", params)

    assert response.status_code == 200
    assert names(response) == SORTED["expires"]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [warning]


def test_an_empty_slice_says_so_and_offers_every_integration(
    auditor_client: Client, sortable: None
) -> None:
    response = auditor_client.get("/", {"show": "expired"})

    assert names(response) == []
    assert "No integration is “Expired”. Show all" in text(response)


def test_long_owner_emails_may_wrap(
    auditor_client: Client, make_credential: MakeCredential
) -> None:
    make_credential(name="Wide", owner_email="platform-identity-team-escalations@example.com")

    html = auditor_client.get("/").content.decode()

    assert '<span class="muted block owner__email">platform-identity' in html


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"show": "soon", "sort": "-owner"},
        {"sort": "status"},
        {"show": "idp_pending", "q": "a"},
        {"show": "unconfirmed", "sort": "-provider"},
    ],
)
def test_query_count_does_not_grow_with_the_table_whatever_the_slice_and_order(
    admin_client: Client,
    make_credential: MakeCredential,
    django_assert_num_queries: Any,
    params: dict[str, str],
) -> None:
    def add(prefix: str, n: int) -> None:
        for i in range(n):
            credential, _ = make_credential(
                name=f"{prefix} {i}", owner=f"team {i}", expires_at=NOW + timedelta(days=i + 1)
            )
            Credential.objects.filter(pk=credential.pk).update(
                idp_pending=True, expiry_confirmed=False
            )

    add("Small", 3)
    with CaptureQueriesContext(connection) as small:
        assert len(names(admin_client.get("/", params))) == 3
    add("Large", 27)

    with django_assert_num_queries(len(small)):
        assert len(names(admin_client.get("/", params))) == 30
    assert len(small) <= 12
