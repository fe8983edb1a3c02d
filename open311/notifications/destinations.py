"""Where a webhook may be sent: to public addresses, and to networks the operator allows.

A partner names the URL and our worker POSTs to it from inside the city's
network. Left unchecked, a partner could make us POST to our own database port,
to the cloud's metadata service (169.254.169.254) or to anything else on a
private network (server-side request forgery). So a URL is checked twice:

- at registration: http or https, no user name or password, and a host that is
  a public address or a name whose every address is public;
- at each delivery: the name is resolved again (it may point elsewhere by now:
  DNS rebinding), every address must still be allowed, and the connection goes
  to an address that was checked, never to a second lookup of the name.

"Public" is what the `ipaddress` module calls global, without multicast and
reserved ranges, and with the IPv4 address inside an IPv4-mapped or 6to4 IPv6
address judged as IPv4. WEBHOOK_ALLOWED_NETWORKS lists networks allowed besides
(a partner's receiver inside the city's network; the tests' 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedDestination(Exception):
    """The URL may not be sent to; str(error) says why, for a partner or a log."""


def resolve_with_system(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for `host` (getaddrinfo), in its order."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise RefusedDestination(f"the host {host!r} could not be resolved ({error})") from error
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what to connect to, and what to ask for there."""

    scheme: str
    host: str  # the name (or literal address) for the Host header, SNI and the certificate
    port: int
    path: str  # with the query

    @classmethod
    def parse(cls, url: str) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:  # a port out of range, a malformed [IPv6] host
            raise RefusedDestination(f"not a valid URL ({error})") from error
        _check_form(parts)
        assert parts.hostname is not None  # _check_form refused URLs without a host
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], path)


def _check_form(parts: SplitResult) -> None:
    if parts.scheme not in DEFAULT_PORTS:
        raise RefusedDestination("only http and https URLs can receive webhooks")
    if "@" in parts.netloc:
        raise RefusedDestination("a webhook URL may not hold a user name or password")
    if not parts.hostname:
        raise RefusedDestination("the URL names no host")


@dataclass(frozen=True)
class Destinations:
    """The rules for where webhooks go, and the resolver that names addresses."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    resolve: Resolver = resolve_with_system

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Destinations:
        """WEBHOOK_ALLOWED_NETWORKS: a list of networks, or one string of them, comma-separated."""
        return cls(allowed_networks=parse_networks(config["WEBHOOK_ALLOWED_NETWORKS"]))

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 on the wire
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    def addresses(self, target: Target) -> list[str]:
        """Every address of the target's host, each one allowed; else RefusedDestination.

        One address that is not allowed refuses them all: a delivery tries the
        addresses in turn, so any one of them may be the one it reaches.
        """
        resolved = _literal(target.host) is None
        found = list(self.resolve(target.host, target.port)) if resolved else [target.host]
        if not found:
            raise RefusedDestination(f"the host {target.host!r} has no address")
        for text in found:
            address = _literal(text)
            if address is None or not self.allows(address):
                named = f"{target.host!r} resolves to " if resolved else ""
                raise RefusedDestination(
                    f"{named}{text}, which is not a public address (it is private, "
                    "loopback, link-local, multicast or reserved); webhooks are sent to "
                    "public addresses only"
                )
        return found

    def check(self, url: str) -> Target:
        """The URL's target, if a webhook may be sent there now; else RefusedDestination."""
        target = Target.parse(url)
        self.addresses(target)
        return target


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address; an IPv6 address carrying IPv4 is judged by both."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:  # fec0::/10: deprecated, but still not the internet
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """ "10.1.0.0/16, 192.168.5.7" or ["10.1.0.0/16"] → networks; ValueError names a bad one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in (str(item).strip() for item in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as error:
            raise ValueError(f"WEBHOOK_ALLOWED_NETWORKS: {item!r} is not a network") from error
    return tuple(networks)
