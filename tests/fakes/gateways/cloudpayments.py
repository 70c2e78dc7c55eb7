"""Fake CloudPayments API from the protocol notes: Basic auth, X-Request-ID, HMAC-signed notifications."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus, urlencode

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response


def _fail(message: str) -> Response:
    return json_response({"Success": False, "Message": message})


def _ok(model: Any = None) -> Response:
    return json_response({"Model": model, "Success": True, "Message": None})


class FakeCloudPayments(FakeServer):
    def __init__(self, public_id: str = "pk_test", api_secret: str = "api_secret_test") -> None:
        super().__init__()
        self.public_id, self.api_secret = public_id, api_secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.transactions: dict[int, dict[str, Any]] = {}
        self.refunded: dict[int, Decimal] = {}
        self.by_request_id: dict[str, Response] = {}
        self.refund_transactions: dict[int, dict[str, Any]] = {}
        self.refund_receipts: list[dict[str, Any]] = []
        self._ids = itertools.count(1_000_001)

    def route(self, req: Request) -> Response:
        if req.basic_auth() != (self.public_id, self.api_secret):
            return Response(401, b"", "text/plain")
        request_id = req.headers.get("x-request-id")
        if request_id and request_id in self.by_request_id:
            return self.by_request_id[request_id]  # a repeated X-Request-ID gets the first answer
        handler = {
            "/test": self._test,
            "/orders/create": self._create_order,
            "/payments/get": self._get,
            "/payments/find": self._find,
            "/payments/refund": self._refund,
        }.get(req.path)
        if handler is None:
            return Response(404, b"", "text/plain")
        resp = handler(req.json() if req.body else {})
        if request_id:
            self.by_request_id[request_id] = resp
        return resp

    def _test(self, body: dict[str, Any]) -> Response:
        return json_response({"Success": True, "Message": "bd6353c3-0ed6-4a65-946f-083664bf8dbd"})

    def _create_order(self, body: dict[str, Any]) -> Response:
        order_id = f"f2K8LV6reGE9WBFn{len(self.orders)}"
        self.orders[order_id] = {
            **body,
            "Id": order_id,
            "Number": len(self.orders) + 1,
            "Url": f"https://orders.cloudpayments.ru/d/{order_id}",
        }
        return _ok(self.orders[order_id])

    def _get(self, body: dict[str, Any]) -> Response:
        tx = self.transactions.get(int(body.get("TransactionId", 0)))
        return _ok(tx) if tx else _fail("Not found")

    def _find(self, body: dict[str, Any]) -> Response:
        found = [t for t in self.transactions.values() if t["InvoiceId"] == str(body.get("InvoiceId"))]
        return _ok(found[-1]) if found else _fail("Not found")

    def _refund(self, body: dict[str, Any]) -> Response:
        tx = self.transactions.get(int(body.get("TransactionId", 0)))
        if tx is None or tx["Status"] != "Completed":
            return _fail("Transaction not found or not completed")
        amount = Decimal(str(body["Amount"]))
        if body.get("JsonData"):
            receipt = json.loads(body["JsonData"])["CloudPayments"]["CustomerReceipt"]
            self.refund_receipts.append(receipt)
            if sum(Decimal(str(i["amount"])) for i in receipt["Items"]) != amount:
                return _fail("Сумма чека не равна сумме возврата")
        already = self.refunded.get(tx["TransactionId"], Decimal(0))
        if already + amount > Decimal(str(tx["Amount"])):
            return _fail("Сумма возврата превышает сумму платежа")
        self.refunded[tx["TransactionId"]] = already + amount
        refund_id = next(self._ids)
        self.refund_transactions[refund_id] = {"PaymentTransactionId": tx["TransactionId"], "Amount": amount}
        return _ok({"TransactionId": refund_id})

    # -- what the real service does outside the API ---------------------------------------------------

    def pay(self, order_id: str, *, status: str = "Completed") -> int:
        order = self.orders[order_id]
        tx_id = next(self._ids)
        self.transactions[tx_id] = {
            "TransactionId": tx_id,
            "Amount": order["Amount"],
            "Currency": order["Currency"],
            "InvoiceId": order["InvoiceId"],
            "AccountId": order.get("Email", ""),
            "Status": status,
            "TestMode": True,
            "ReasonCode": 0 if status == "Completed" else 5051,
        }
        return tx_id

    def pay_notification(self, tx_id: int) -> tuple[bytes, dict[str, str]]:
        tx = self.transactions[tx_id]
        fields = {
            "TransactionId": tx_id,
            "Amount": f"{Decimal(str(tx['Amount'])):.2f}",
            "Currency": tx["Currency"],
            "DateTime": "2024-01-01 00:00:00",
            "CardFirstSix": "424242",
            "CardLastFour": "4242",
            "CardType": "Visa",
            "CardExpDate": "12/30",
            "TestMode": "1",
            "Status": tx["Status"],
            "OperationType": "Payment",
            "InvoiceId": tx["InvoiceId"],
            "AccountId": tx["AccountId"],
            "Email": tx["AccountId"],
            "Name": "CARD HOLDER",
        }
        return self.signed(urlencode(fields).encode())

    def check_notification(self, order_id: str, amount: str | None = None) -> tuple[bytes, dict[str, str]]:
        """Check: sent before the charge, asking whether the invoice may be paid (its answer decides)."""
        order = self.orders[order_id]
        fields = {
            "TransactionId": next(self._ids),
            "Amount": amount or f"{Decimal(str(order['Amount'])):.2f}",
            "Currency": order["Currency"],
            "DateTime": "2024-01-01 00:00:00",
            "CardFirstSix": "424242",
            "CardLastFour": "4242",
            "TestMode": "1",
            "Status": "Authorized" if order.get("RequireConfirmation") else "Completed",
            "OperationType": "Payment",
            "InvoiceId": order["InvoiceId"],
            "AccountId": order.get("Email", ""),
        }
        return self.signed(urlencode(fields).encode())

    def fail_notification(self, order_id: str) -> tuple[bytes, dict[str, str]]:
        """Fail: the card was declined; no money moved."""
        tx_id = self.pay(order_id, status="Declined")
        tx = self.transactions[tx_id]
        fields = {
            "TransactionId": tx_id,
            "Amount": f"{Decimal(str(tx['Amount'])):.2f}",
            "Currency": tx["Currency"],
            "DateTime": "2024-01-01 00:00:00",
            "TestMode": "1",
            "Status": "Declined",
            "OperationType": "Payment",
            "InvoiceId": tx["InvoiceId"],
            "AccountId": tx["AccountId"],
            "Reason": "InsufficientFunds",
            "ReasonCode": "5051",
        }
        return self.signed(urlencode(fields).encode())

    def refund_notification(self, refund_id: int) -> tuple[bytes, dict[str, str]]:
        """Refund: TransactionId is the refund's own transaction, PaymentTransactionId the refunded payment."""
        refund = self.refund_transactions[refund_id]
        tx = self.transactions[refund["PaymentTransactionId"]]
        fields = {
            "TransactionId": refund_id,
            "PaymentTransactionId": refund["PaymentTransactionId"],
            "Amount": f"{refund['Amount']:.2f}",
            "Currency": tx["Currency"],
            "DateTime": "2024-01-01 00:05:00",
            "OperationType": "Refund",
            "InvoiceId": tx["InvoiceId"],
            "AccountId": tx["AccountId"],
        }
        return self.signed(urlencode(fields).encode())

    def refund_in_cabinet(self, tx_id: int, amount: Decimal) -> int:
        """Staff refund in the CloudPayments cabinet (not through our API): only the notification tells us."""
        self.refunded[tx_id] = self.refunded.get(tx_id, Decimal(0)) + amount
        refund_id = next(self._ids)
        self.refund_transactions[refund_id] = {"PaymentTransactionId": tx_id, "Amount": amount}
        return refund_id

    def signed(self, body: bytes) -> tuple[bytes, dict[str, str]]:
        """Headers as CloudPayments sends them: one HMAC over the raw body, one over the URL-decoded body."""

        def mac(data: bytes) -> str:
            return base64.b64encode(hmac.new(self.api_secret.encode(), data, hashlib.sha256).digest()).decode()

        return body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-HMAC": mac(body),
            "X-Content-HMAC": mac(unquote_plus(body.decode()).encode()),
        }
