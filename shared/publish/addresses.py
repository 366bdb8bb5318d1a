"""Which network addresses a webhook may reach: public ones only, decided on the address
itself (after resolution), so that a name pointing at 127.0.0.1, 10.x or the metadata service
(169.254.169.254) cannot turn the gateway into a way into its own network."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address a router may deliver to: NAT64 and 6to4.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def why_unsafe(address: IPAddress) -> str | None:
    """Why a webhook may not go to this address (a few words), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped (link-local) address"
        inner = embedded_ipv4(address)
        if inner is not None:
            found = why_unsafe(inner)
            return f"{found}, inside an IPv6 address" if found else None
        if address in _NAT64_LOCAL or address in _SIX_TO_FOUR:
            return "a translated address"
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for unsafe, reason in checks if unsafe), None)


def parse_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one (IPv6 with or without brackets), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
