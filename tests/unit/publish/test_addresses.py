"""Which addresses a webhook may reach, over whole ranges (Hypothesis)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.publish.addresses import IPAddress, embedded_ipv4, parse_address, why_unsafe

UNSAFE_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
UNSAFE_V6 = ["::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "::/128"]


def addresses_in(network: str) -> st.SearchStrategy[IPAddress]:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda n: net[n])


unsafe_v4 = st.sampled_from(UNSAFE_V4).flatmap(addresses_in)
unsafe_v6 = st.sampled_from(UNSAFE_V6).flatmap(addresses_in)


@given(unsafe_v4)
def test_loopback_private_link_local_and_reserved_ipv4_are_refused(address: IPAddress) -> None:
    assert why_unsafe(address) is not None


@given(unsafe_v6)
def test_loopback_unique_local_link_local_and_multicast_ipv6_are_refused(
    address: IPAddress,
) -> None:
    assert why_unsafe(address) is not None


@given(unsafe_v4)
def test_an_unsafe_ipv4_mapped_into_ipv6_is_refused(address: IPAddress) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")

    reason = why_unsafe(mapped)

    assert reason is not None and "inside an IPv6 address" in reason


@given(unsafe_v4)
def test_an_unsafe_ipv4_behind_nat64_or_6to4_is_refused(address: IPAddress) -> None:
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)

    assert why_unsafe(nat64) is not None
    assert why_unsafe(six_to_four) is not None


@given(addresses_in("8.8.0.0/16") | addresses_in("2606:4700::/32"))
def test_public_addresses_pass(address: IPAddress) -> None:
    assert why_unsafe(address) is None


@given(addresses_in("8.8.0.0/16"))
def test_a_public_ipv4_mapped_into_ipv6_passes(address: IPAddress) -> None:
    assert why_unsafe(ipaddress.IPv6Address(f"::ffff:{address}")) is None


def test_the_cloud_metadata_address_is_link_local() -> None:
    assert why_unsafe(ipaddress.ip_address("169.254.169.254")) == "a link-local address"


def test_a_scoped_ipv6_address_is_refused() -> None:
    assert why_unsafe(ipaddress.IPv6Address("fe80::1%eth0")) is not None


def test_embedded_ipv4_is_none_for_a_plain_ipv6_address() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::1", "::1"), ("example.com", None)],
)
def test_parse_address_reads_ip_literals_only(host: str, expected: str | None) -> None:
    found = parse_address(host)
    assert (str(found) if found else None) == expected
