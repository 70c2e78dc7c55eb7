"""The safety net in front of every handler: input no field rule should ever have to see.

- a path segment with a control character, or an ``{x:int}`` id that is not a plain positive id (int4)
  written in ASCII digits (``٣``, ``+3``, ``1_0``, ``99999999999999999999``): 404, before asyncpg sees it;
- a query string or a form field (URL-encoded, or a multipart part that is not a file) holding NUL
  or another control character, bytes that are not UTF-8, or a multipart body that does not parse:
  a translated 400 page (problem JSON for JSON clients);
- a POST with a body that is not a form (JSON, text) where only forms are taken: 415.

Field rules (``app.forms.rules``) still give messages next to the fields of a re-rendered form; this
net only catches what would otherwise reach the database or a parser as poison. Payment hooks are
left to their own handler: their raw body is verified before anything reads it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from multipart import MultipartSegment, ParserError, PushMultipartParser

from app.errors import BadRequest
from app.forms.rules import ID_MAX, has_forbidden
from app.i18n import gettext as _

# Bodies larger than this are not buffered here (field rules still apply to what the handler reads).
BODY_LIMIT = 10 * 1024 * 1024  # Litestar refuses larger bodies (413) unless a route allows more
# Gateways post their own formats (verified raw); the JSON API takes JSON.
UNGUARDED_BODIES = ("/hooks/", "/api/")
URLENCODED = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refusal() -> BadRequest:
    """The translated refusal of text we do not accept."""
    return BadRequest(
        _("The request holds control characters (such as NUL) or broken text. Remove them and try again.")
    )


def check_pairs(encoded: str) -> None:
    """Raises ``BadRequest`` when a decoded name or value holds a forbidden character or is not UTF-8."""
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise refusal() from None
    if any(has_forbidden(name) or has_forbidden(value) for name, value in pairs):
        raise refusal()


def check_path(scope: Scope) -> None:
    segments = scope["path"].split("/")
    if any(has_forbidden(segment) for segment in segments):
        raise NotFoundException()
    for value in (scope.get("path_params") or {}).values():
        # Litestar's int() takes "٣", "+3" and "1_0"; an id is only ever written the plain way.
        is_id = isinstance(value, int) and not isinstance(value, bool)
        if is_id and (not 1 <= value <= ID_MAX or str(value) not in segments):
            raise NotFoundException()


def check_multipart(body: bytes, boundary: bytes) -> None:
    """Every part that is not a file: a UTF-8 name and value without control characters."""
    segment: MultipartSegment | None = None
    value = bytearray()
    try:
        with PushMultipartParser(boundary, max_segment_count=1000) as parser:
            for part in parser.parse(body):
                if isinstance(part, MultipartSegment):
                    segment, value = part, bytearray()
                elif segment is None or segment.filename:
                    continue  # a file's bytes are the importer's to judge
                elif part:
                    value.extend(part)
                elif has_forbidden(segment.name) or has_forbidden(value.decode("utf-8")):
                    raise refusal()
            if not parser.closed:
                list(parser.parse(b""))  # the end of the body: a missing closing boundary raises here
    except (ParserError, UnicodeDecodeError):
        raise refusal() from None


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return b""


def _content_type(scope: Scope) -> tuple[bytes, bytes]:
    """The media type and its multipart boundary (empty when there is none)."""
    media, _sep, params = _header(scope, b"content-type").partition(b";")
    boundary = b""
    for param in params.split(b";"):
        key, _eq, value = param.strip().partition(b"=")
        if key.lower() == b"boundary":
            boundary = value.strip().strip(b'"')
    return media.strip().lower(), boundary


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return bool(_header(scope, b"transfer-encoding")) or (length.isdigit() and int(length) > 0)


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
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(UNGUARDED_BODIES):
            media, boundary = _content_type(scope)
            if media not in (URLENCODED, MULTIPART) and _has_body(scope):
                raise HTTPException(status_code=415)
            if media in (URLENCODED, MULTIPART):
                messages, body = await _buffer(receive)
                if body is not None:
                    _check_body(body, media, boundary)
                receive = _replay(messages, receive)
        await next_app(scope, receive, send)


def _check_body(body: bytes, media: bytes, boundary: bytes) -> None:
    if media == MULTIPART:
        if not boundary:
            raise refusal()
        check_multipart(body, boundary)
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise refusal() from None
    check_pairs(text)
