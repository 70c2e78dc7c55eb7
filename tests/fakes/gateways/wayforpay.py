"""Fake WayForPay from the protocol notes: signed purchase form, JSON serviceUrl callback, JSON API."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response


class FakeWayForPay(FakeServer):
    def __init__(self, account: str = "test_merch_n1", secret: str = "flk3409refn54t54t*FNJRET") -> None:
        super().__init__()
        self.account, self.secret = account, secret
        self.orders: dict[str, dict[str, Any]] = {}

    def sign(self, *values: object) -> str:
        return hmac.new(self.secret.encode(), ";".join(map(str, values)).encode(), hashlib.md5).hexdigest()

    def route(self, req: Request) -> Response:
        if req.path == "/pay" and req.method == "POST":
            return self._purchase(req.body.decode())
        if req.path == "/api":
            body = req.json()
            handler = {"CHECK_STATUS": self._check, "REFUND": self._refund}.get(body.get("transactionType"))
            if body.get("apiVersion") != 1 or handler is None:
                return json_response({"reason": "Invalid request", "reasonCode": 1109})
            return handler(body)
        return Response(404, b"", "text/plain")

    def _purchase(self, raw: str) -> Response:
        pairs = parse_qsl(raw, keep_blank_values=True)  # a list: productName[] and friends repeat
        form = dict(pairs)
        names = [v for k, v in pairs if k == "productName[]"]
        prices = [v for k, v in pairs if k == "productPrice[]"]
        counts = [v for k, v in pairs if k == "productCount[]"]
        expected = self.sign(
            form["merchantAccount"],
            form["merchantDomainName"],
            form["orderReference"],
            form["orderDate"],
            form["amount"],
            form["currency"],
            *names,
            *counts,
            *prices,
        )
        if form["merchantAccount"] != self.account or expected != form["merchantSignature"]:
            return Response(200, b"<html>Invalid signature</html>", "text/html")
        if sum(Decimal(p) * int(c) for p, c in zip(prices, counts, strict=True)) != Decimal(form["amount"]):
            return Response(200, b"<html>Amount mismatch</html>", "text/html")
        self.orders[form["orderReference"]] = {
            "amount": Decimal(form["amount"]),
            "currency": form["currency"],
            "status": "InProcessing",
            "refunded": Decimal(0),
        }
        return Response(200, b"<html>WayForPay checkout</html>", "text/html")

    def _check(self, body: dict[str, Any]) -> Response:
        ref = body.get("orderReference", "")
        if body.get("merchantAccount") != self.account or self.sign(self.account, ref) != body.get("merchantSignature"):
            return json_response({"reason": "Invalid signature", "reasonCode": 1113})
        order = self.orders.get(ref)
        if order is None:
            return json_response(
                {
                    "merchantAccount": self.account,
                    "orderReference": ref,
                    "reason": "Order not found",
                    "reasonCode": 1112,
                }
            )
        return json_response(
            {
                "merchantAccount": self.account,
                "orderReference": ref,
                "amount": float(order["amount"]),
                "currency": order["currency"],
                "transactionStatus": order["status"],
                "refundAmount": float(order["refunded"]),
                "reason": "Ok",
                "reasonCode": 1100,
            }
        )

    def _refund(self, body: dict[str, Any]) -> Response:
        ref, amount, currency = (
            body.get("orderReference", ""),
            body.get("amount", ""),
            body.get("currency", ""),
        )
        if self.sign(self.account, ref, amount, currency) != body.get("merchantSignature"):
            return json_response({"reason": "Invalid signature", "reasonCode": 1113})
        order = self.orders.get(ref)
        if order is None or order["status"] != "Approved":
            return json_response(
                {
                    "orderReference": ref,
                    "transactionStatus": "Declined",
                    "reasonCode": 1112,
                    "reason": "Order not found or not approved",
                }
            )
        if order["refunded"] + Decimal(amount) > order["amount"]:
            return json_response(
                {
                    "orderReference": ref,
                    "transactionStatus": "Declined",
                    "reasonCode": 1120,
                    "reason": "Refund amount exceeds the payment",
                }
            )
        order["refunded"] += Decimal(amount)
        if order["refunded"] == order["amount"]:
            order["status"] = "Refunded"
        return json_response(
            {
                "merchantAccount": self.account,
                "orderReference": ref,
                "transactionStatus": "Refunded",
                "reason": "Ok",
                "reasonCode": 1100,
            }
        )

    # -- outside the API -----------------------------------------------------------------------------------

    def pay(self, ref: str) -> bytes:
        """The shopper pays; the raw JSON body WayForPay posts to serviceUrl. The amount is written as PHP's
        json_encode writes a float (1500.0) while the signature uses PHP's string form (1500)."""
        order = self.orders[ref]
        order["status"] = "Approved"
        amount_text = format(order["amount"].normalize(), "f")
        fields = {
            "merchantAccount": self.account,
            "orderReference": ref,
            "amount": amount_text,
            "currency": order["currency"],
            "authCode": "541963",
            "cardPan": "41****8217",
            "transactionStatus": "Approved",
            "reasonCode": "1100",
        }
        signature = self.sign(*fields.values())
        literal = amount_text if "." in amount_text else amount_text + ".0"
        body = json.dumps(
            {
                **fields,
                "amount": "AMOUNT",
                "reasonCode": 1100,
                "merchantSignature": signature,
                "reason": "Ok",
                "email": "buyer@example.com",
                "fee": 0,
                "paymentSystem": "card",
            }
        )
        return body.replace('"AMOUNT"', literal).encode()

    def refund_in_cabinet(self, ref: str, amount: str) -> bytes:
        """The merchant refunds in the WayForPay cabinet; returns the signed Refunded callback."""
        order = self.orders[ref]
        order["refunded"] += Decimal(amount)
        return self.refund_notification(ref)

    def refund_notification(self, ref: str) -> bytes:
        """The signed serviceUrl callback of a refund: transactionStatus Refunded, the payment's own amount."""
        order = self.orders[ref]
        amount_text = format(order["amount"].normalize(), "f")
        fields = {
            "merchantAccount": self.account,
            "orderReference": ref,
            "amount": amount_text,
            "currency": order["currency"],
            "authCode": "541963",
            "cardPan": "41****8217",
            "transactionStatus": "Refunded",
            "reasonCode": "1100",
        }
        return json.dumps({**fields, "merchantSignature": self.sign(*fields.values()), "reason": "Ok"}).encode()

    def accept_is_valid(self, body: bytes) -> bool:
        reply = json.loads(body)
        return reply["status"] == "accept" and reply["signature"] == self.sign(
            reply["orderReference"], "accept", reply["time"]
        )
