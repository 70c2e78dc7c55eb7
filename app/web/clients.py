"""Who is asking: the client address and scheme, believing X-Forwarded-* only from trusted proxies.

Without ``AUTOOFFICE_TRUSTED_PROXIES`` the direct peer is the client, whatever headers it sends, so a
stranger cannot pick the address that sign-in delays and sign-up limits are counted against. Behind
trusted proxies the client is the right-most ``X-Forwarded-For`` hop that is not one of them (each proxy
appends the address it saw; anything further left was written by the client and proves nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """``("10.0.0.1", "192.168.0.0/16")`` as networks.

    Raises:
        ValueError: an entry is neither an address nor a CIDR (named in the message).
    """
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"AUTOOFFICE_TRUSTED_PROXIES: {item!r} is not an address or a CIDR") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: object, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)  # type: ignore[operator]


def forwarded_client(peer: str, forwarded_for: list[str], networks: tuple[Network, ...]) -> str:
    """The client's address given the direct ``peer`` and the ``X-Forwarded-For`` header values."""
    if not _trusted(_address(peer), networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage: keep the last hop a trusted proxy vouched for
            return client
        client = str(address)
        if not _trusted(address, networks):
            return client
    return client


class ForwardedMiddleware(ASGIMiddleware):
    """Rewrites ``scope["client"]`` (and the scheme) when the direct peer is a trusted proxy."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        peer = scope.get("client")
        if self.networks and peer and _trusted(_address(peer[0]), self.networks):
            headers = scope.get("headers", [])
            values = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
            if values:
                scope["client"] = (forwarded_client(peer[0], values, self.networks), 0)
            protos = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
            proto = protos[-1].split(",")[-1].strip().lower() if protos else ""
            if proto in {"http", "https"}:
                scope["scheme"] = proto
        await next_app(scope, receive, send)


def client_host(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
