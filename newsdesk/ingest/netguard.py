"""Which network addresses the fetcher may connect to (the SSRF guard).

A feed URL is typed by an admin or arrives in OPML, and every redirect hop
is chosen by a remote server, so none of them may steer a worker at the
metadata service (169.254.169.254), the database on loopback, or a printer
on the office LAN. By default only globally routable addresses pass;
``NEWSDESK_FETCH_ALLOWED_NETWORKS`` lists exceptions (intranet feeds, tests).

The guard judges *addresses*, not host names: fetch.py resolves a name once,
validates every address it got, and then connects to the validated address
itself (pinning), so a DNS answer that changes between check and connect
(rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6052 NAT64 well-known prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Host names that look numeric: decimal (2130706433), hex (0x7f.1), octal
# (0177.0.0.1) and short (127.1) forms all parse as IPv4 in inet_aton and
# browsers, but only the canonical dotted quad is honest.
_NUMERIC_HOST_RE = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)


class AddressRefused(Exception):
    """The address (or host form) is not one we connect to; the message says why."""


@lru_cache(maxsize=32)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allowed if cidr.strip())


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The operator's exceptions, read from settings at call time (tests override them)."""
    return _networks(tuple(getattr(settings, "NEWSDESK_FETCH_ALLOWED_NETWORKS", ()) or ()))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
    if int(address) >> 32 == 0 and int(address) > 0xFFFF:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _why_not_global(address: IPAddress) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        # 100.64.0.0/10 (carrier-grade NAT) and similar shared ranges.
        return "not globally routable"
    return ""


def address_check(address: str | IPAddress) -> IPAddress:
    """Return the parsed address if we may connect to it, else raise AddressRefused."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError as exc:
        raise AddressRefused(f"not an IP address: {address!r}") from exc
    # ::ffff:a.b.c.d is a.b.c.d on the wire: judge it as such.
    effective: IPAddress = ip
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        effective = ip.ipv4_mapped
    networks = allowed_networks()
    if any(effective in network for network in networks if network.version == effective.version):
        return ip
    reason = _why_not_global(effective)
    if not reason and isinstance(effective, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(effective):
            if any(inner in network for network in networks if network.version == 4):
                continue
            inner_reason = _why_not_global(inner)
            if inner_reason:
                reason = f"embeds {inner} ({inner_reason})"
                break
    if reason:
        shown = f"{ip} ({effective})" if effective is not ip else str(ip)
        raise AddressRefused(f"address {shown} is {reason}; refused by the SSRF guard")
    return ip


def host_check(host: str) -> None:
    """Refuse host spellings used only to smuggle addresses past filters.

    ``http://2130706433/`` and ``http://0177.0.0.1/`` are 127.0.0.1 to the
    resolver; no real feed is published under such a name.
    """
    if _NUMERIC_HOST_RE.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise AddressRefused(f"host {host!r} is a non-canonical IP address form; refused") from None


def host_resolve(host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) pairs for ``host``; tests replace this to play DNS."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[tuple[int, str]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        pair = (family, str(sockaddr[0]))
        if pair not in seen:
            seen.append(pair)
    return seen
