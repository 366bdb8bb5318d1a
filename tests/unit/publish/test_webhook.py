"""The webhook sender's refusals that need no network: URL shapes and resolved addresses."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.publish.outcome import Refused
from shared.publish.webhook import (
    CheckedResolver,
    UnsafeAddressError,
    WebhookSender,
    event_body,
    why_refused,
)
from tests.support.event_destinations import WEBHOOK_SECRET
from tests.support.fixed_resolver import FixedResolver

UNSAFE_RANGES = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "::ffff:127.0.0.0/104",
    "::ffff:10.0.0.0/104",
    "::ffff:169.254.0.0/112",
]
PUBLIC_RANGES = ["8.8.0.0/16", "93.184.0.0/16", "2606:4700::/32", "::ffff:8.8.0.0/112"]


def in_ranges(ranges: list[str]) -> st.SearchStrategy[str]:
    def pick(network: str) -> st.SearchStrategy[str]:
        net = ipaddress.ip_network(network)
        return st.integers(0, net.num_addresses - 1).map(lambda n: str(net[n]))

    return st.sampled_from(ranges).flatmap(pick)


unsafe_address = in_ranges(UNSAFE_RANGES)
public_address = in_ranges(PUBLIC_RANGES)

EVENT = {"id": "evt-1", "type": "com.example.x", "data": {"message": "héllo"}}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "scheme must be https"),
        ("ftp://hooks.example.com/x", "scheme must be https"),
        ("https:///x", "no host"),
        ("https://user:pw@hooks.example.com/x", "carries credentials"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]/x", "loopback"),
        ("https://[::ffff:10.0.0.1]/x", "private address, inside an IPv6"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.1.2.3:8443/x", "private"),
        ("not a url", "scheme must be https"),
    ],
)
def test_a_url_the_gateway_does_not_send_to_is_named(url: str, reason: str) -> None:
    found = why_refused(url)

    assert found is not None and reason in found


def test_a_public_https_url_may_be_tried() -> None:
    assert why_refused("https://hooks.example.com/events?x=1") is None


def test_plain_http_and_loopback_are_allowed_on_the_local_stack() -> None:
    assert why_refused("http://127.0.0.1:4030/events", allow_private_addresses=True) is None


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = CheckedResolver(FixedResolver("10.0.0.7"), allow_private_addresses=False)

    with pytest.raises(UnsafeAddressError, match="resolves to a private address"):
        await resolver.resolve("hooks.example.com", 443)


async def test_one_unsafe_address_among_public_ones_refuses_the_whole_answer() -> None:
    resolver = CheckedResolver(
        FixedResolver("93.184.216.34", "127.0.0.1"), allow_private_addresses=False
    )

    with pytest.raises(UnsafeAddressError, match="loopback"):
        await resolver.resolve("hooks.example.com", 443)


async def test_a_public_answer_is_passed_on_as_resolved() -> None:
    inner = FixedResolver("93.184.216.34", "2606:2800:220:1::1")

    answers = await CheckedResolver(inner, allow_private_addresses=False).resolve("a.example", 443)

    assert [answer["host"] for answer in answers] == ["93.184.216.34", "2606:2800:220:1::1"]


async def test_private_answers_pass_when_private_addresses_are_allowed() -> None:
    resolver = CheckedResolver(FixedResolver("127.0.0.1"), allow_private_addresses=True)

    assert [a["host"] for a in await resolver.resolve("localhost", 80)] == ["127.0.0.1"]


async def test_a_refused_url_is_not_requested() -> None:
    resolver = FixedResolver("93.184.216.34")
    sender = WebhookSender(resolver=resolver)
    try:
        outcome = await sender.send("http://hooks.example.com/x", EVENT, [WEBHOOK_SECRET])
    finally:
        await sender.close()

    assert isinstance(outcome, Refused)
    assert resolver.asked == []


async def test_an_event_without_an_id_is_an_error() -> None:
    sender = WebhookSender()
    with pytest.raises(ValueError, match="string id"):
        await sender.send("https://hooks.example.com/x", {"type": "x"}, [WEBHOOK_SECRET])


def test_the_body_is_compact_utf8_json() -> None:
    assert event_body(EVENT) == ('{"id":"evt-1","type":"com.example.x","data":{"message":"héllo"}}')


def test_a_timeout_of_zero_is_an_error() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        WebhookSender(timeout_seconds=0)


def resolve_with(answer: list[str], *, allow_private_addresses: bool = False) -> list[str]:
    resolver = CheckedResolver(
        FixedResolver(*answer), allow_private_addresses=allow_private_addresses
    )
    found = asyncio.run(resolver.resolve("hooks.example.com", 443))
    return [entry["host"] for entry in found]


@given(unsafe_address, st.lists(public_address, max_size=3), st.integers(0, 3))
def test_any_resolved_answer_holding_an_unsafe_address_is_refused(
    unsafe: str, public: list[str], where: int
) -> None:
    answer = [*public[:where], unsafe, *public[where:]]

    with pytest.raises(UnsafeAddressError):
        resolve_with(answer)


@given(st.lists(public_address, min_size=1, max_size=4))
def test_an_answer_of_public_addresses_only_is_used_as_is(public: list[str]) -> None:
    assert resolve_with(public) == public


@given(unsafe_address)
def test_any_unsafe_answer_is_used_when_private_addresses_are_allowed(unsafe: str) -> None:
    assert resolve_with([unsafe], allow_private_addresses=True) == [unsafe]
