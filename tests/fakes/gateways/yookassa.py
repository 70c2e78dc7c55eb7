"""Fake YooKassa API v3 written from the protocol notes: Basic auth, Idempotence-Key, payments, refunds."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response

_AMOUNT_RE = re.compile(r"^\d+\.\d{2}$")


def _error(status: int, code: str, description: str, parameter: str | None = None) -> Response:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return json_response(body, status)


class FakeYooKassa(FakeServer):
    def __init__(self, shop_id: str = "123456", secret_key: str = "test_secret") -> None:
        super().__init__()
        self.shop_id, self.secret_key = shop_id, secret_key
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[bytes, Response]] = {}
        self.processing_once = False  # the next POST answers 202 + retry_after, as the API may
        self.receipts: list[dict[str, Any]] = []  # payment receipts, as received
        self.refund_receipts: list[dict[str, Any]] = []

    def route(self, req: Request) -> Response:
        if req.basic_auth() != (self.shop_id, self.secret_key):
            return _error(401, "invalid_credentials", "Authentication error")
        if req.method == "POST":
            key = req.headers.get("idempotence-key")
            if not key:
                return _error(400, "invalid_request", "Idempotence key is required", "Idempotence-Key")
            if key in self.idempotency:
                body, saved = self.idempotency[key]
                # Same key + same body -> the same answer; same key + another body is refused.
                return saved if body == req.body else _error(400, "invalid_request", "Key reused", "Idempotence-Key")
            if self.processing_once:
                self.processing_once = False
                return json_response({"type": "processing", "retry_after": 50}, 202)
            resp = self._post(req)
            if resp.status < 500:
                self.idempotency[key] = (req.body, resp)
            return resp
        if req.path == "/v3/payments":
            return json_response({"type": "list", "items": list(self.payments.values())[: int(req.query["limit"])]})
        if req.path.startswith("/v3/payments/"):
            payment = self.payments.get(req.path.rsplit("/", 1)[1])
            return json_response(payment) if payment else _error(404, "not_found", "Payment not found")
        return _error(404, "not_found", "Unknown path")

    def _post(self, req: Request) -> Response:
        body = req.json()
        if req.path == "/v3/payments":
            return self._create(body)
        if req.path == "/v3/refunds":
            return self._refund(body)
        return _error(404, "not_found", "Unknown path")

    def _create(self, body: dict[str, Any]) -> Response:
        amount = body.get("amount") or {}
        if not _AMOUNT_RE.match(str(amount.get("value", ""))):
            return _error(400, "invalid_request", "Invalid amount format", "amount.value")
        receipt = body.get("receipt")
        if receipt is not None:
            self.receipts.append(receipt)
            items_total = sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in receipt["items"])
            if items_total != Decimal(amount["value"]) or not receipt.get("customer"):
                return _error(400, "invalid_request", "Receipt does not match the amount", "receipt")
        confirmation = body.get("confirmation") or {}
        if confirmation.get("type") != "redirect" or not confirmation.get("return_url"):
            return _error(400, "invalid_request", "Confirmation is required", "confirmation")
        payment_id = str(uuid.uuid4())
        self.payments[payment_id] = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": amount,
            "description": body.get("description"),
            "metadata": body.get("metadata", {}),
            "confirmation": {
                "type": "redirect",
                "return_url": confirmation["return_url"],
                "confirmation_url": f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={payment_id}",
            },
            "created_at": "2024-01-01T00:00:00.000Z",
            "test": True,
            "refundable": False,
            "recipient": {"account_id": self.shop_id, "gateway_id": "1"},
        }
        if receipt is not None:  # as YooKassa reports it: pending until the payment succeeds and the register prints
            self.payments[payment_id]["receipt_registration"] = "pending"
        return json_response(self.payments[payment_id])

    def _refund(self, body: dict[str, Any]) -> Response:
        payment = self.payments.get(body.get("payment_id", ""))
        if payment is None:
            return _error(404, "not_found", "Payment not found", "payment_id")
        if payment["status"] != "succeeded":
            return _error(400, "invalid_request", "Payment is not succeeded", "payment_id")
        value = Decimal(body["amount"]["value"])
        receipt = body.get("receipt")
        if receipt is not None:
            self.refund_receipts.append(receipt)
            items_total = sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in receipt["items"])
            if items_total != value:
                return _error(400, "invalid_request", "Receipt does not match the refund", "receipt")
        refunded = Decimal(payment.get("refunded_amount", {}).get("value", "0"))
        if value + refunded > Decimal(payment["amount"]["value"]):
            return _error(400, "invalid_request", "Refund amount exceeds the payment", "amount.value")
        refund_id = str(uuid.uuid4())
        self.refunds[refund_id] = {
            "id": refund_id,
            "payment_id": payment["id"],
            "status": "succeeded",
            "amount": body["amount"],
            "created_at": "2024-01-01T00:00:00.000Z",
        }
        payment["refunded_amount"] = {
            "value": f"{refunded + value:.2f}",
            "currency": body["amount"]["currency"],
        }
        return json_response(self.refunds[refund_id])

    # -- what the real YooKassa does outside the API -------------------------------------------------

    def refund_in_cabinet(self, payment_id: str, value: str) -> bytes:
        """The merchant refunds in the YooKassa cabinet; returns the refund.succeeded notification body."""
        currency = self.payments[payment_id]["amount"]["currency"]
        answer = self._refund({"payment_id": payment_id, "amount": {"value": value, "currency": currency}})
        assert answer.status == 200
        return self.notification("refund.succeeded", json.loads(answer.body))

    def pay(self, payment_id: str) -> bytes:
        """The shopper pays on the hosted page; returns the (unsigned) notification body YooKassa posts."""
        payment = self.payments[payment_id]
        payment.update(status="succeeded", paid=True, refundable=True, captured_at="2024-01-01T00:01:00.000Z")
        if "receipt_registration" in payment:
            payment["receipt_registration"] = "succeeded"
        return self.notification("payment.succeeded", payment)

    @staticmethod
    def notification(event: str, obj: dict[str, Any]) -> bytes:
        return json.dumps({"type": "notification", "event": event, "object": obj}).encode()
