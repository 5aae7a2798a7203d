"""No input makes a page answer 5xx, and a rejected request leaves no row behind.

A property-based sweep over every named URL (the routes of ``test_role_matrix``): each page's
query parameters and each field of each of its forms get hostile values — digits that
``str.isdigit()`` accepts and ``int()`` refuses, NUL and other C0 controls, 5 to 20 thousand
character strings, dates at the edge of the calendar, huge and negative numbers, empty and
blank strings.
Field names come from the rendered pages (every ``<form>`` aiming at the URL), query parameter
names from those forms, the links on the pages and the parameters the views read.

Admins send everything (anonymous visitors the sign-in form). Every example runs in a
savepoint that is rolled back, so one accepted request cannot change the next one's world.

For a request that is refused (400, or a form shown again with its errors) the row count of
every table is the same before and after, except what the refusal itself must record: a failed
sign-in or a refused reveal password writes its audit event (and django-axes its attempt row).
GET requests never write anything.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import ChannelKind
from keyvault.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, slack_channel_make
from tests.keyvault.test_role_matrix import ROUTES, World, client_for, url_names

# --- hostile values -----------------------------------------------------------------------

#: ``str.isdigit()`` is True for each, ``int()`` refuses each.
UNICODE_DIGITS = ("²", "³", "¹", "⁰", "⁹", "①", "₂", "⒈", "፩", "᧚")
#: ``int()`` accepts these (Arabic-Indic, Devanagari, full-width…), but they are not ASCII.
FOREIGN_DIGITS = ("\u0663", "\u06f7", "\u096b", "\uff17", "\U0001d7d7")
C0_CONTROLS = (*(chr(c) for c in range(0x20)), "\x7f")
CALENDAR_EDGES = (
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "0000-00-00",
    "9999-12-32",
    "2026-02-29",
    "-0001-01-01",
)
NUMBERS = ("0", "-1", "-0", "+1", "1e9", "9" * 19, "9" * 30, "-" + "9" * 30, "1.5", "0x10")
BLANKS = ("", " ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\ufeff")

short_text = st.text(
    alphabet=st.sampled_from(
        UNICODE_DIGITS + FOREIGN_DIGITS + C0_CONTROLS + ("a", "1", ",", "-", "é", "'", "%")
    ),
    min_size=1,
    max_size=12,
)
long_text = st.builds(
    lambda unit, size: (unit * size)[:size],
    st.sampled_from(("a", "9", "²", "\x00", "é", "a,", "https://x.example/", "\U0001d7d7")),
    st.integers(min_value=5_000, max_value=20_000),
)
hostile_value = st.one_of(
    st.sampled_from(UNICODE_DIGITS + FOREIGN_DIGITS + CALENDAR_EDGES + NUMBERS + BLANKS),
    st.sampled_from(C0_CONTROLS).map(lambda c: f"a{c}b"),
    short_text,
    long_text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(UNICODE_DIGITS).map(lambda d: f"30,{d},7"),
    st.sampled_from(CALENDAR_EDGES).map(lambda d: d.replace("-", "/")),
)

# --- what a page offers ---------------------------------------------------------------------

#: Query parameters the views read, besides those of the pages' forms and links.
READ_PARAMETERS = ("q", "page", "before", "after", "next", "format")


class _Forms(HTMLParser):
    """Every ``<form>`` of a page: (method, action, field names)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, set[str]]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "form":
            self.forms.append(
                ((attr.get("method") or "get").lower(), attr.get("action") or "", set())
            )
        elif tag in ("input", "select", "textarea", "button") and self.forms and attr.get("name"):
            self.forms[-1][2].add(str(attr["name"]))
        elif tag == "a" and attr.get("href"):
            self.links.append(str(attr["href"]))


def _page_forms(client: Client, url: str) -> _Forms:
    parser = _Forms()
    response = client.get(url)
    if response.status_code == 200 and "html" in response.get("Content-Type", ""):
        parser.feed(response.content.decode())
    return parser


def _offered(client: Client, pages: list[str], url: str) -> tuple[set[str], set[str]]:
    """(query parameter names, POST field names) the pages offer for ``url``."""
    path = urlsplit(url).path
    query: set[str] = set(READ_PARAMETERS)
    fields: set[str] = set()
    for page in pages:
        parsed = _page_forms(client, page)
        for method, action, names in parsed.forms:
            target = urlsplit(action).path or urlsplit(page).path
            if target != path:
                continue
            (fields if method == "post" else query).update(names)
        for link in parsed.links:
            parts = urlsplit(link)
            if (parts.path or urlsplit(page).path) == path:
                query.update(name for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    fields.discard("csrfmiddlewaretoken")
    return query, fields


# --- what a refusal may leave behind ----------------------------------------------------------

#: Refusals that are themselves audited, once a password was checked: a wrong sign-in, a wrong
#: password before a reveal or a password change. A form refused before that (an impossible
#: username, an empty password) leaves nothing.
AUDITED_REFUSALS: dict[str, frozenset[str]] = {
    "account_login": frozenset({AuditAction.LOGIN_FAILED}),
    # A wrong password at Reveal is a refused reveal (counted towards the reveal limit), not a
    # failed sign-in.
    "keyvault:credential_reveal": frozenset({AuditAction.CREDENTIAL_REVEAL_DENIED}),
    # A wrong current password at a password change counts towards the same limit.
    "keyvault:account": frozenset({AuditAction.USER_PASSWORD_CHANGE_REFUSED}),
    # allauth's password re-entry (before a second factor changes) goes through
    # ``authenticate``: a wrong one is a failed sign-in, audited and counted by django-axes.
    "account_reauthenticate": frozenset({AuditAction.LOGIN_FAILED}),
}
#: django-axes records each failed password check (that is the throttle).
AXES_TABLES = frozenset({"axes.accessattempt", "axes.accessfailurelog", "axes.accesslog"})


def row_counts() -> Counter[str]:
    return Counter(
        {model._meta.label_lower: model._base_manager.count() for model in apps.get_models()}
    )


def _form_has_errors(response: Any) -> bool:
    context = getattr(response, "context", None)
    if not context:
        return False
    form = context.get("form")
    return bool(form is not None and getattr(form, "errors", None))


def _password_check_ran(response: Any, sent: dict[str, str]) -> bool:
    """Whether the refused form got as far as checking a password: its username and password
    fields (those it has) accept what was sent. Only then may a refusal be audited."""
    form = response.context["form"] if response.context else None
    if form is None:
        return False
    for name in ("username", "login", "password", "old_password"):
        if name in form.fields:
            try:
                form.fields[name].clean(sent.get(name, ""))
            except ValidationError:
                return False
    return True


def _assert_left_nothing(
    name: str, before: Counter[str], last_seq: int, *, audited: bool = False
) -> None:
    """No table gained or lost rows, but for the audit event (and django-axes attempt) of a
    refusal that checked a password (``audited``)."""
    after = row_counts()
    changed = {label for label in before.keys() | after.keys() if before[label] != after[label]}
    if audited:
        new_actions = set(
            AuditEvent.objects.filter(seq__gt=last_seq).values_list("action", flat=True)
        )
        assert new_actions <= AUDITED_REFUSALS[name], (name, new_actions)
        changed -= {"keyvault.auditevent", *AXES_TABLES}
    assert not changed, f"{name}: a refused request left rows in {sorted(changed)}"


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- the sweep --------------------------------------------------------------------------------


def _variants(name: str, world: World) -> list[str]:
    """The URLs of a route: the matrix's one, plus the other kinds a page has."""
    urls = [ROUTES[name].url(world)]
    if name == "alerts:channel_create":
        urls.append(reverse(name, kwargs={"kind": ChannelKind.EMAIL}))
    if name == "alerts:channel_edit":
        slack = slack_channel_make(
            name="#hostile", url="https://hooks.slack.com/services/T0/B0/hostile"
        )
        urls.append(reverse(name, kwargs={"channel_id": slack.pk}))
    return urls


def _pages(name: str, url: str) -> list[str]:
    """Pages whose forms and links may aim at ``url`` (a POST-only URL is reached from others)."""
    pages = [url]
    if name == "keyvault:audit_export":
        # The export form carries the filters in use: open the log with every filter set.
        every_filter = {
            "q": "x",
            "action": AuditAction.LOGIN,
            "date_from": "2026-01-01",
            "date_to": "2026-12-31",
        }
        pages = [f"{reverse('keyvault:audit_log')}?{urlencode(every_filter)}"]
    if name == "alerts:channel_test":
        pages = [url.removesuffix("test/")]
    if name == "alerts:channel_delete":
        pages.append(url.removesuffix("delete/"))
    if name == "account_logout":
        pages = [reverse("keyvault:dashboard")]
    return pages


@pytest.fixture
def world(make_credential: Any) -> World:
    credential, _ = make_credential(name="Hostile — acme (Okta SCIM)")
    return World(integration=credential.integration, credential=credential)


def _requests(name: str) -> Iterator[str]:
    route = ROUTES[name]
    for method, access in (("GET", route.get), ("POST", route.post)):
        if access.method_allowed:
            yield method


#: The REST API's inputs are swept from its own schema by schemathesis
#: (``tests/api/test_schemathesis.py``); here, the pages.
SWEEP = [
    (name, method)
    for name in sorted(url_names())
    if not name.startswith("api:")
    for method in _requests(name)
]


@pytest.mark.parametrize(("name", "method"), SWEEP)
@settings(
    max_examples=int(os.environ.get("KEYVAULT_HOSTILE_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("KEYVAULT_HOSTILE_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_makes_a_page_fail(world: World, name: str, method: str, data: Any) -> None:
    role = "anonymous" if name == "account_login" else "admin"
    if "urls" not in world.extra:
        viewer = client_for(role)
        world.extra["urls"] = [
            (url, *_offered(viewer, _pages(name, url), url)) for url in _variants(name, world)
        ]
    url, query_names, field_names = data.draw(st.sampled_from(world.extra["urls"]))
    route = ROUTES[name]
    base: dict[str, str] = {}
    if method == "POST" and route.data:
        base = route.data(world)
    if name == "account_login":
        base = {"login": "alice", "password": PASSWORD}
    names = sorted(query_names if method == "GET" else field_names | set(base)) or ["q"]
    keys = st.sampled_from(names)
    hostile = data.draw(
        st.one_of(
            # Every field at once: each field's own checks run whatever the others hold.
            st.fixed_dictionaries({key: hostile_value for key in names}),
            # One field, the others valid: checks that need the rest of the form to pass.
            st.builds(lambda k, v: {k: v}, keys, hostile_value),
            st.dictionaries(keys, hostile_value, min_size=1, max_size=8),
        ),
        label="hostile",
    )

    with transaction.atomic():
        # A fresh client each time: a sign-out in one example must not sign out the next.
        client = client_for(role)
        before, last_seq = row_counts(), _last_seq()
        if method == "GET":
            response = client.get(url, hostile)
        else:
            body = urlencode({**base, **hostile})
            response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        if response.streaming:
            b"".join(response.streaming_content)  # an export fails while it streams

        assert response.status_code < 500, (name, method, response.status_code)
        refused = response.status_code == 400 or (
            response.status_code == 200 and _form_has_errors(response)
        )
        if method == "GET" or refused:
            audited = (
                method == "POST"
                and name in AUDITED_REFUSALS
                and _password_check_ran(response, {**base, **hostile})
            )
            _assert_left_nothing(name, before, last_seq, audited=audited)
        transaction.set_rollback(True)
