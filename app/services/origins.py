"""Web origins (``scheme://host[:port]``): the sites a store allows to frame its order forms.

They end up in a ``Content-Security-Policy: frame-ancestors`` header, so anything beyond a bare origin is
refused rather than cleaned up: a ``*`` would let every site frame the form, a ``;`` or a space would start
another directive or source, and a path, query or user name means the writer meant something else.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from app.i18n import gettext as _

MAX_ORIGINS = 20
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class OriginProblem(ValueError):
    """Why a line is not an origin; ``message`` is translated and names the line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _shown(text: str) -> str:
    shown = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return shown if len(shown) <= 80 else shown[:79] + "…"


def _host(name: str) -> str | None:
    """The host in ASCII (IDNA for a Cyrillic domain), an IPv4 address or a bracketed IPv6; None when invalid."""
    if name.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(name[1:-1]).compressed}]" if name.endswith("]") else None
        except ValueError:
            return None
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():  # numbers only: a dotted quad written plainly, never octal, hex or a bare integer
        try:
            return str(ipaddress.IPv4Address(ascii_name))
        except ValueError:
            return None
    return ascii_name


def parse(text: str) -> str:
    """The normalized origin of one line.

    Raises:
        OriginProblem: the line is not ``http(s)://host[:port]``.
    """
    value = text.strip()
    shown = _shown(value)
    if "*" in value:
        raise OriginProblem(_("%(value)s: wildcards (*) are not allowed; list each site.", value=shown))
    if any(ch.isspace() or not ch.isprintable() for ch in value) or ";" in value:
        raise OriginProblem(_("%(value)s: one site per line, without spaces or semicolons.", value=shown))
    try:
        parts = urlsplit(value)
    except ValueError:
        raise OriginProblem(_("%(value)s: this is not a valid host name.", value=shown)) from None
    if parts.scheme not in ("http", "https") or not value.lower().startswith(f"{parts.scheme}://"):
        raise OriginProblem(_("%(value)s: start the address with https:// or http://.", value=shown))
    if "@" in parts.netloc:
        raise OriginProblem(_("%(value)s: no user name or password in the address.", value=shown))
    if parts.path not in ("", "/") or "?" in value or "#" in value:
        raise OriginProblem(_("%(value)s: the site's address only, without a path or query.", value=shown))
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        raise OriginProblem(_("%(value)s: the port must be a number from 1 to 65535.", value=shown))
    host = _host(parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc)
    if host is None:
        raise OriginProblem(_("%(value)s: this is not a valid host name.", value=shown))
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def safe(text: str | None) -> str | None:
    """``parse`` without the reason: None for anything that is not a clean origin (old rows, query values)."""
    try:
        return parse(text or "")
    except OriginProblem:
        return None


def parse_lines(text: str) -> tuple[list[str], str | None]:
    """The origins of a textarea (one per line, commas allowed), sorted and unique; or the first problem."""
    lines = [line for line in text.replace(",", "\n").splitlines() if line.strip()]
    if len(lines) > MAX_ORIGINS:
        return [], _("At most %(max)s sites.", max=MAX_ORIGINS)
    origins = set()
    for line in lines:
        try:
            origins.add(parse(line))
        except OriginProblem as problem:
            return [], problem.message
    return sorted(origins), None
