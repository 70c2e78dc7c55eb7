"""The safety net in front of every handler: input no field rule should ever have to see.

- a path segment with a control character, or an ``{x:int}`` id that is not a plain positive id (int4)
  written in ASCII digits (``٣``, ``+3``, ``1_0``, ``99999999999999999999``): 404, before asyncpg sees it;
- a query string or a URL-encoded form field (name or value) holding NUL or another control
  character, or bytes that are not UTF-8: a translated 400 page (problem JSON for JSON clients).

Field rules (``app.forms.rules``) still give messages next to the fields of a re-rendered form; this
net only catches what would otherwise reach the database or a parser as poison. Payment hooks are
left to their own handler: their raw body is verified before anything reads it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BadRequest
from app.forms.rules import ID_MAX, has_forbidden
from app.i18n import gettext as _

# Bodies larger than this are not buffered here (field rules still apply to what the handler reads).
BODY_LIMIT = 4 * 1024 * 1024
UNGUARDED_BODIES = ("/hooks/",)
URLENCODED = b"application/x-www-form-urlencoded"


def _refuse() -> BadRequest:
    return BadRequest(
        _("The request holds control characters (such as NUL) or broken text. Remove them and try again.")
    )


def check_pairs(encoded: str) -> None:
    """Raises ``BadRequest`` when a decoded name or value holds a forbidden character or is not UTF-8."""
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _refuse() from None
    if any(has_forbidden(name) or has_forbidden(value) for name, value in pairs):
        raise _refuse()


def check_path(scope: Scope) -> None:
    segments = scope["path"].split("/")
    if any(has_forbidden(segment) for segment in segments):
        raise NotFoundException()
    for value in (scope.get("path_params") or {}).values():
        # Litestar's int() takes "٣", "+3" and "1_0"; an id is only ever written the plain way.
        is_id = isinstance(value, int) and not isinstance(value, bool)
        if is_id and (not 1 <= value <= ID_MAX or str(value) not in segments):
            raise NotFoundException()


def _content_type(scope: Scope) -> bytes:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            return value.split(b";", 1)[0].strip().lower()
    return b""


async def _buffer(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages read so far, and its whole body (None when it passed ``BODY_LIMIT``)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > BODY_LIMIT:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay  # type: ignore[return-value]


class InputGuardMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        check_path(scope)
        check_pairs(scope.get("query_string", b"").decode("latin-1"))
        if _content_type(scope) == URLENCODED and not scope["path"].startswith(UNGUARDED_BODIES):
            messages, body = await _buffer(receive)
            if body is not None:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise _refuse() from None
                check_pairs(text)
            receive = _replay(messages, receive)
        await next_app(scope, receive, send)
