"""Downloading a store's feed URL without letting it reach our own network (SSRF guard).

Every TCP connection, including each redirect hop, resolves the host itself and refuses loopback,
private, link-local, multicast and reserved addresses before connecting to the address it checked, so
a DNS answer cannot change between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from app.i18n.messages import gettext as _
from app.services.imports.records import ImportFileError

MAX_FEED_BYTES = 200 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, read=60.0)


class BlockedAddress(ImportFileError):
    def __init__(self, host: str) -> None:
        super().__init__("blocked_address", _("The address %(host)s is not reachable from the internet.", host=host))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address itself (TLS still verifies the host name)."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        addresses = [str(info[4][0]) for info in infos]
        if not addresses or not (self._allow_private or all(is_public(a) for a in addresses)):
            raise BlockedAddress(host)
        return await self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(allow_private: bool = False) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport()
    # httpx has no public hook for the network backend; swap the pool it built for one that uses ours.
    transport._pool = httpcore.AsyncConnectionPool(network_backend=GuardedBackend(allow_private))
    return httpx.AsyncClient(
        transport=transport,
        timeout=TIMEOUT,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": "AutoOffice feed import"},
    )


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# A host made of digits, dots and hex notation only is an IPv4 address in some spelling; resolvers read
# 0177.0.0.1 as octal (127.0.0.1) and 2130706433 as one number, so only the dotted decimal form passes.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$")


def _check_host(host: str) -> None:
    """A dotted-decimal IPv4 address, an IPv6 literal, or a DNS name (IDN allowed); else ValueError."""
    if ":" in host:  # urlsplit has removed the brackets of an IPv6 literal
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(_("The address %(host)s in the link is not a valid IP address.", host=host)) from None
        return
    if _NUMERIC_HOST.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            message = _(
                "The address %(host)s in the link is not a valid IP address: write it as four numbers "
                "from 0 to 255 without leading zeros (like 203.0.113.7), or use the site's name.",
                host=host,
            )
            raise ValueError(message) from None
        return
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(_("The link's site name %(host)s is not valid.", host=host))


def check_url(url: str) -> str:
    """A well-formed http(s) URL whose host can only mean one thing, or a translated ValueError message."""
    url = url.strip()
    if len(url) > 2000:
        raise ValueError(_("The link is too long (at most 2000 characters)."))
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cf") for char in url):
        raise ValueError(_("The link contains spaces or invisible characters: copy it again from the site."))
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unclosed [ of an IPv6 address, say
        raise ValueError(_("This link cannot be read. Check it for typos.")) from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValueError(_("Enter a link that starts with http:// or https://."))
    if parts.username or parts.password:
        raise ValueError(_("Put the feed's login in its settings, not in the link."))
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(_("The port in the link must be a number from 1 to 65535."))
    _check_host(hostname)
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise ValueError(_("This link cannot be read. Check it for typos.")) from None
    return url


async def download(url: str, target: Path, *, allow_private: bool = False) -> int:
    """Stream ``url`` into ``target``; returns its size.

    Raises:
        ImportFileError: blocked address, HTTP error, timeout, or a file over the size limit.
    """
    try:
        async with guarded_client(allow_private) as client, client.stream("GET", check_url(url)) as response:
            if response.status_code != 200:
                message = _("The feed answered with HTTP status %(status)s.", status=response.status_code)
                raise ImportFileError("http_status", message)
            size = 0
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > MAX_FEED_BYTES:
                        raise ImportFileError("too_large", _("The feed is larger than 200 MB."))
                    out.write(chunk)
            return size
    except ValueError as exc:
        raise ImportFileError("bad_url", str(exc)) from exc
    except httpx.InvalidURL as exc:  # a redirect to a link httpx cannot read
        raise ImportFileError("bad_url", _("This link cannot be read. Check it for typos.")) from exc
    except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
        raise ImportFileError("timeout", _("The feed did not answer in time.")) from exc
    except (httpx.TransportError, httpcore.ConnectError) as exc:
        if isinstance(exc.__cause__, BlockedAddress) or isinstance(exc.__context__, BlockedAddress):
            raise exc.__cause__ or exc.__context__ from None  # type: ignore[misc]
        raise ImportFileError("unreachable", _("The feed cannot be reached: %(reason)s", reason=str(exc))) from exc
