"""The SSRF guard of live checks: https only, public addresses only, the checked address is the
one connected to, no redirects, a deadline, a capped body.

Local HTTPS servers on 127.0.0.1 stand in for vendors (their self-signed certificate trusted
through ``KEYVAULT_CHECK_CA_FILE``). Where a test needs a host name to resolve a certain way,
it replaces the system resolver (``socket.getaddrinfo``), the outside world, for that test.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from keyvault.vault import guarded_http
from keyvault.vault.check_models import CheckStatus
from keyvault.vault.guarded_http import NoAnswer, Refused, address_refusal, guarded_get
from keyvault.vault.live_check import scim_probe
from tests.scim_server import FixedHttpsServer

SCIM_LIST = (
    b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}'
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.1.2.3", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not public"),
        ("::ffff:127.0.0.1", "loopback (written as IPv6)"),
        ("::ffff:10.0.0.1", "private (written as IPv6)"),
        ("::ffff:169.254.169.254", "link-local (written as IPv6)"),
        ("2002:7f00:1::", "loopback (written as IPv6)"),
        ("64:ff9b::a9fe:a9fe", "link-local (written as IPv6)"),
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, reason: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "104.16.0.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == ""


@pytest.mark.parametrize(
    "address", ["127.0.0.2", "::1", "::ffff:127.0.0.1", "10.0.0.5", "169.254.169.254"]
)
def test_the_lab_setting_lets_through_127_0_0_1_and_nothing_else(address: str) -> None:
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) == ""
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=True) != ""


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """Make chosen host names resolve to chosen addresses, one list per lookup in turn (the
    last repeats); returns the log of names looked up."""
    real = socket.getaddrinfo
    answers: dict[str, list[list[str]]] = {}
    looked_up: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        turns = answers[host]
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)

    def set_answers(host: str, *turns: list[str]) -> list[str]:
        answers[host] = list(turns)
        return looked_up

    return set_answers


@pytest.fixture
def vendor(settings: Any) -> Iterator[FixedHttpsServer]:
    with FixedHttpsServer(body=SCIM_LIST) as server:
        settings.KEYVAULT_CHECK_CA_FILE = server.ca_file
        yield server


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.216.34/scim/v2/Users", "only https:// URLs are called"),
        ("ftp://93.184.216.34/", "only https:// URLs are called"),
        ("https://user:secret@93.184.216.34/", "user name or password"),
        ("https://10.0.0.5/scim/v2/Users", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:127.0.0.1]/", "loopback (written as IPv6)"),
        ("https://[::1]/", "loopback"),
        ("https://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        ("https://0x7f000001/", "loopback"),
        ("https://localhost/", "loopback"),
    ],
)
def test_urls_keyvault_must_not_call_are_refused_before_connecting(
    settings: Any, url: str, why: str
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = False
    with pytest.raises(Refused, match=why.replace("(", r"\(").replace(")", r"\)")) as refused:
        guarded_get(url, headers={})
    assert "secret" not in str(refused.value)


def test_loopback_is_refused_without_the_lab_setting(
    vendor: FixedHttpsServer, settings: Any
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = False
    with pytest.raises(Refused, match="loopback"):
        guarded_get(f"{vendor.url}/v2/Users", headers={})
    assert vendor.requests == []


def test_the_lab_setting_lets_a_check_reach_127_0_0_1(
    vendor: FixedHttpsServer, settings: Any
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    answer = guarded_get(f"{vendor.url}/v2/Users?count=1", headers={})
    assert (answer.status, answer.body) == (200, SCIM_LIST)
    assert vendor.requests == ["/v2/Users?count=1"]


def test_a_name_that_resolves_to_a_private_address_is_refused(
    resolver: Callable[..., list[str]], settings: Any
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    resolver("127.0.0.1.nip.io", ["10.1.2.3"])
    with pytest.raises(Refused, match="private"):
        guarded_get("https://127.0.0.1.nip.io/scim/v2/Users", headers={})


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    resolver: Callable[..., list[str]],
) -> None:
    resolver("mixed.test", ["93.184.216.34", "169.254.169.254"])
    with pytest.raises(Refused, match="link-local"):
        guarded_get("https://mixed.test/scim/v2/Users", headers={})


def test_a_name_that_changes_its_answer_cannot_swap_the_address_checked(
    vendor: FixedHttpsServer, resolver: Callable[..., list[str]], settings: Any
) -> None:
    """DNS rebinding: the first lookup passes the guard, a second one would give a private
    address. keyvault looks up once and connects to the address it checked."""
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    looked_up = resolver("rebind.test", ["127.0.0.1"], ["10.1.2.3"])
    answer = guarded_get(f"https://rebind.test:{vendor.port}/v2/Users", headers={})
    assert answer.status == 200
    assert looked_up == ["rebind.test"]
    assert vendor.requests == ["/v2/Users"]


def test_a_name_that_does_not_resolve_is_no_answer(resolver: Callable[..., list[str]]) -> None:
    with pytest.raises(NoAnswer, match="could not be resolved"):
        guarded_get("https://nowhere.invalid/scim/v2/Users", headers={})


def test_a_redirect_is_not_followed(settings: Any) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    with FixedHttpsServer(status=302, headers={"Location": "/elsewhere"}) as server:
        settings.KEYVAULT_CHECK_CA_FILE = server.ca_file
        result = scim_probe(base_url=f"{server.url}/v2", token="t0ken")
        assert server.requests == ["/v2/Users?startIndex=1&count=1"]
    assert result.status == CheckStatus.UNREACHABLE
    assert result.http_status == 302
    assert "redirect (not followed)" in result.detail


def test_the_answer_body_is_read_only_up_to_the_cap(settings: Any) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    with FixedHttpsServer(body=b"x" * (guarded_http.MAX_BODY_BYTES * 4)) as server:
        settings.KEYVAULT_CHECK_CA_FILE = server.ca_file
        answer = guarded_get(f"{server.url}/big", headers={})
    assert len(answer.body) == guarded_http.MAX_BODY_BYTES


def test_a_vendor_that_does_not_answer_in_time_is_given_up(settings: Any) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    settings.KEYVAULT_CHECK_TIMEOUT_SECONDS = 0.5
    with FixedHttpsServer(body=SCIM_LIST, delay=3) as server:
        settings.KEYVAULT_CHECK_CA_FILE = server.ca_file
        started = time.monotonic()
        with pytest.raises(NoAnswer, match=r"no answer within 0\.5 s"):
            guarded_get(f"{server.url}/v2/Users", headers={})
        assert time.monotonic() - started < 2


def test_a_certificate_keyvault_does_not_trust_is_no_answer(settings: Any) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    settings.KEYVAULT_CHECK_CA_FILE = ""
    with (
        FixedHttpsServer(body=SCIM_LIST) as server,
        pytest.raises(NoAnswer, match="certificate is not trusted"),
    ):
        guarded_get(f"{server.url}/v2/Users", headers={})


def test_a_ca_file_that_cannot_be_read_is_a_configuration_error(
    settings: Any, tmp_path: Any
) -> None:
    from keyvault.checks import live_check_settings_check

    settings.KEYVAULT_CHECK_CA_FILE = str(tmp_path / "missing.pem")
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = False

    assert [m.id for m in live_check_settings_check(None)] == ["keyvault.E010"]


def test_calling_127_0_0_1_outside_debug_is_warned_about(settings: Any) -> None:
    from keyvault.checks import live_check_settings_check

    settings.KEYVAULT_CHECK_CA_FILE = ""
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True

    assert [m.id for m in live_check_settings_check(None)] == ["keyvault.W010"]


def test_when_one_checked_address_cannot_be_reached_the_next_one_is_tried(
    vendor: FixedHttpsServer, resolver: Callable[..., list[str]], settings: Any
) -> None:
    """A name with an IPv6 address this host has no route to (or that never answers) and an
    IPv4 one that works: the check reaches the vendor, within the time allowed."""
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    settings.KEYVAULT_CHECK_TIMEOUT_SECONDS = 4
    resolver("dual.test", ["2606:4700::1111", "127.0.0.1"])

    started = time.monotonic()
    answer = guarded_get(f"https://dual.test:{vendor.port}/v2/Users", headers={})

    assert answer.status == 200
    assert time.monotonic() - started < 4


def test_an_unreadable_ca_file_makes_the_check_unreachable_not_an_error(
    vendor: FixedHttpsServer, settings: Any, tmp_path: Any
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True
    settings.KEYVAULT_CHECK_CA_FILE = str(tmp_path / "gone.pem")

    result = scim_probe(base_url=f"{vendor.url}/v2", token="t0ken")

    assert result.status == CheckStatus.UNREACHABLE
    assert result.detail == "the extra CA file (KEYVAULT_CHECK_CA_FILE) cannot be read"
    assert vendor.requests == []


def test_a_key_that_cannot_go_in_a_header_is_not_sent_and_not_quoted(
    vendor: FixedHttpsServer, settings: Any
) -> None:
    settings.KEYVAULT_CHECK_ALLOW_LOOPBACK = True

    result = scim_probe(base_url=f"{vendor.url}/v2", token="half-a-key\r\nX-Evil: 1")

    assert result.status == CheckStatus.UNREACHABLE
    assert "half-a-key" not in result.detail and "invalid characters" in result.detail
    assert vendor.requests == []
