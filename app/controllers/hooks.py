"""Payment notifications from gateways: the raw body is verified before anything else is read."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Response

from app.errors import Refused
from app.services import payments

logger = logging.getLogger(__name__)


def keys_of(request: Request[Any, Any, Any]) -> payments.Keys:
    settings = request.app.state.settings
    return payments.Keys(settings.secret_key, settings.public_url)


class HookController(Controller):
    path = "/hooks/{slug:str}"
    include_in_schema = False

    @post("/{gateway:str}/{connection_id:int}", name="hooks:receive", status_code=200)
    async def receive(
        self, request: Request[Any, Any, Any], gateway: FromPath[str], connection_id: FromPath[int]
    ) -> Response[bytes]:
        return await _receive(request, gateway, connection_id, None)

    @post("/{gateway:str}/{connection_id:int}/{kind:str}", name="hooks:receive_kind", status_code=200)
    async def receive_kind(
        self, request: Request[Any, Any, Any], gateway: FromPath[str], connection_id: FromPath[int], kind: FromPath[str]
    ) -> Response[bytes]:
        """Gateways that post each notification type to its own address (CloudPayments Check, Pay, ...)."""
        return await _receive(request, gateway, connection_id, kind[:32])


async def _receive(
    request: Request[Any, Any, Any], gateway: str, connection_id: int, kind: str | None
) -> Response[bytes]:
    raw = await request.body()
    connection = await payments.connection(connection_id)
    if connection["code"] != gateway:
        return Response(b"unknown connection", status_code=404, media_type="text/plain")
    try:
        status, content_type, body = await payments.handle_notification(
            connection_id, raw, dict(request.headers), dict(request.query_params), keys=keys_of(request), kind=kind
        )
    except Refused:
        logger.warning("refused a notification for connection %s (signature or address)", connection_id)
        return Response(b"invalid signature", status_code=400, media_type="text/plain")
    return Response(body, status_code=status, media_type=content_type)
