"""Fake LiqPay from the protocol notes: checkout form, signed callbacks, the data+signature server API."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response


class FakeLiqPay(FakeServer):
    def __init__(self, public_key: str = "sandbox_i000", private_key: str = "sandbox_priv") -> None:
        super().__init__()
        self.public_key, self.private_key = public_key, private_key
        self.orders: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1_000_000_001)

    def sign(self, data: str) -> str:
        raw = hashlib.sha1(f"{self.private_key}{data}{self.private_key}".encode()).digest()
        return base64.b64encode(raw).decode()

    def _open(self, form: dict[str, str]) -> dict[str, Any] | None:
        if self.sign(form.get("data", "")) != form.get("signature"):
            return None
        return json.loads(base64.b64decode(form["data"]))

    def route(self, req: Request) -> Response:
        params = self._open(req.form())
        if params is None:
            return json_response({"result": "error", "err_code": "invalid_signature", "status": "error"})
        if params.get("public_key") != self.public_key or params.get("version") != 3:
            return json_response({"result": "error", "err_code": "public_key_not_found", "status": "error"})
        if req.path == "/api/3/checkout":
            return self._checkout(params)
        if req.path == "/api/request":
            handler = {"status": self._status, "refund": self._refund}.get(params.get("action", ""))
            if handler:
                return handler(params)
        return json_response({"result": "error", "err_code": "invalid_action", "status": "error"})

    def _checkout(self, params: dict[str, Any]) -> Response:
        self.orders[params["order_id"]] = {
            "order_id": params["order_id"],
            "amount": Decimal(str(params["amount"])),
            "currency": params["currency"],
            "action": params["action"],
            "status": "new",
            "payment_id": next(self._ids),
            "refunded": Decimal(0),
            "sandbox": params.get("sandbox") == "1",
            "description": params.get("description"),
        }
        return Response(200, b"<html>LiqPay checkout</html>", "text/html")

    def _public(self, order: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "result": "ok",
            "action": order["action"],
            "payment_id": order["payment_id"],
            "status": order["status"],
            "version": 3,
            "public_key": self.public_key,
            "amount": float(order["amount"]),
            "currency": order["currency"],
            "order_id": order["order_id"],
            "description": order["description"],
            **extra,
        }

    def _status(self, params: dict[str, Any]) -> Response:
        order = self.orders.get(params.get("order_id", ""))
        if order is None or order["status"] == "new":
            return json_response(
                {
                    "result": "error",
                    "status": "error",
                    "err_code": "payment_not_found",
                    "err_description": "payment not found",
                }
            )
        return json_response(self._public(order))

    def _refund(self, params: dict[str, Any]) -> Response:
        order = self.orders.get(params.get("order_id", ""))
        if order is None or order["status"] not in ("success", "sandbox"):
            return json_response({"result": "error", "status": "error", "err_code": "payment_not_found"})
        amount = Decimal(str(params.get("amount", order["amount"] - order["refunded"])))
        if order["refunded"] + amount > order["amount"]:
            return json_response(
                {
                    "result": "error",
                    "status": "error",
                    "err_code": "err_amount",
                    "err_description": "Refund amount exceeds the payment",
                }
            )
        order["refunded"] += amount
        if order["refunded"] == order["amount"]:
            order["status"] = "reversed"
        return json_response({"result": "ok", "status": "reversed", "payment_id": order["payment_id"]})

    # -- outside the API -----------------------------------------------------------------------------------

    def pay(self, order_id: str) -> bytes:
        """The shopper pays; returns the form body LiqPay posts to server_url."""
        order = self.orders[order_id]
        order["status"] = "sandbox" if order["sandbox"] else "success"
        data = base64.b64encode(json.dumps(self._public(order, type="buy", paytype="card")).encode()).decode()
        return urlencode({"data": data, "signature": self.sign(data)}).encode()
