"""Fake T-Bank Acquiring API v2 from the protocol notes: Token-signed Init/GetState/CheckOrder/Cancel."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response


def reference_token(params: dict[str, Any], password: str) -> str:
    """The documented algorithm, written independently of the adapter: root scalars + Password, sorted."""
    flat: dict[str, str] = {"Password": password}
    for key, value in params.items():
        if key == "Token" or isinstance(value, dict | list):
            continue
        flat[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return hashlib.sha256("".join(flat[k] for k in sorted(flat)).encode("utf-8")).hexdigest()


class FakeTBank(FakeServer):
    def __init__(self, terminal_key: str = "1321054611234DEMO", password: str = "Dfsfh56dgKl") -> None:
        super().__init__()
        self.terminal_key, self.password = terminal_key, password
        self.payments: dict[str, dict[str, Any]] = {}
        self.cancels: dict[str, dict[str, Any]] = {}  # ExternalRequestId -> the answer given
        self.receipts: list[dict[str, Any]] = []  # Init receipts, as received
        self.refund_receipts: list[dict[str, Any]] = []  # Cancel receipts, as received
        self._ids = itertools.count(8742591)

    def _error(self, code: str, message: str, details: str = "") -> Response:
        return json_response(
            {
                "Success": False,
                "ErrorCode": code,
                "Message": message,
                "Details": details,
                "TerminalKey": self.terminal_key,
            }
        )

    def route(self, req: Request) -> Response:
        body = req.json()
        if body.get("TerminalKey") != self.terminal_key:
            return self._error("202", "Терминал не найден")
        if reference_token(body, self.password) != body.get("Token"):
            return self._error("204", "Неверный токен. Проверьте пару TerminalKey/SecretKey.")
        handler = {
            "/v2/Init": self._init,
            "/v2/GetState": self._get_state,
            "/v2/CheckOrder": self._check_order,
            "/v2/Cancel": self._cancel,
        }.get(req.path)
        return handler(body) if handler else Response(404, b"", "text/plain")

    def _init(self, body: dict[str, Any]) -> Response:
        if len(str(body.get("OrderId", ""))) > 36 or not isinstance(body.get("Amount"), int):
            return self._error("8", "Неверные параметры")
        receipt = body.get("Receipt")
        if receipt is not None:
            self.receipts.append(receipt)
            if not receipt.get("Taxation"):
                return self._error("308", "Не указана система налогообложения")
            if sum(item["Amount"] for item in receipt["Items"]) != body["Amount"]:
                return self._error("308", "Сумма позиций чека не равна сумме платежа")
            if any(round(item["Price"] * item["Quantity"]) != item["Amount"] for item in receipt["Items"]):
                return self._error("308", "Amount позиции не равен Price * Quantity")
        payment_id = str(next(self._ids))
        self.payments[payment_id] = {
            "PaymentId": payment_id,
            "OrderId": body["OrderId"],
            "Amount": body["Amount"],
            "Status": "NEW",
            "Remaining": body["Amount"],
            "NotificationURL": body.get("NotificationURL"),
        }
        return json_response(
            {
                "Success": True,
                "ErrorCode": "0",
                "TerminalKey": self.terminal_key,
                "Status": "NEW",
                "PaymentId": payment_id,
                "OrderId": body["OrderId"],
                "Amount": body["Amount"],
                "PaymentURL": f"https://securepayments.tinkoff.ru/{payment_id}",
            }
        )

    def _public(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "PaymentId": p["PaymentId"],
            "OrderId": p["OrderId"],
            "Amount": p["Amount"],
            "Status": p["Status"],
        }

    def _get_state(self, body: dict[str, Any]) -> Response:
        p = self.payments.get(str(body.get("PaymentId")))
        if p is None:
            return self._error("7", "Платеж не найден")
        return json_response({"Success": True, "ErrorCode": "0", "TerminalKey": self.terminal_key, **self._public(p)})

    def _check_order(self, body: dict[str, Any]) -> Response:
        found = [
            self._public(p) | {"Success": True, "ErrorCode": "0"}
            for p in self.payments.values()
            if p["OrderId"] == body.get("OrderId")
        ]
        return json_response(
            {
                "Success": True,
                "ErrorCode": "0",
                "TerminalKey": self.terminal_key,
                "OrderId": body.get("OrderId"),
                "Payments": found,
            }
        )

    def _cancel(self, body: dict[str, Any]) -> Response:
        key = body.get("ExternalRequestId")
        if key and key in self.cancels:
            return json_response(self.cancels[key])  # the same operation, not a second refund
        p = self.payments.get(str(body.get("PaymentId")))
        if p is None or p["Status"] not in ("CONFIRMED", "PARTIAL_REFUNDED"):
            return self._error("7", "Неверный статус платежа")
        amount = int(body.get("Amount", p["Remaining"]))
        receipt = body.get("Receipt")
        if receipt is not None:
            self.refund_receipts.append(receipt)
            if sum(item["Amount"] for item in receipt["Items"]) != amount:
                return self._error("308", "Сумма позиций чека не равна сумме возврата")
        if amount > p["Remaining"]:
            return self._error("1014", "Неверная сумма", "Сумма возврата больше остатка")
        original = p["Remaining"]
        p["Remaining"] -= amount
        p["Status"] = "REFUNDED" if p["Remaining"] == 0 else "PARTIAL_REFUNDED"
        answer = {
            "Success": True,
            "ErrorCode": "0",
            "TerminalKey": self.terminal_key,
            "Status": p["Status"],
            "PaymentId": p["PaymentId"],
            "OrderId": p["OrderId"],
            "OriginalAmount": original,
            "NewAmount": p["Remaining"],
        }
        if key:
            self.cancels[key] = answer
        return json_response(answer)

    # -- what the bank does outside the API -------------------------------------------------------------

    def refund_in_cabinet(self, payment_id: str, amount: int) -> bytes:
        """The merchant refunds in the T-Bank cabinet; returns the signed REFUNDED/PARTIAL_REFUNDED notification."""
        answer = json.loads(self._cancel({"PaymentId": payment_id, "Amount": amount}).body)
        return self.refund_notification(answer)

    def refund_notification(self, cancel: dict[str, Any]) -> bytes:
        """The notification of a refund, carrying the amounts the Cancel answer names."""
        p = self.payments[str(cancel["PaymentId"])]
        note: dict[str, Any] = {
            "TerminalKey": self.terminal_key,
            "OrderId": p["OrderId"],
            "Success": True,
            "Status": cancel["Status"],
            "PaymentId": int(cancel["PaymentId"]),
            "ErrorCode": "0",
            "Amount": p["Amount"],
            "OriginalAmount": cancel["OriginalAmount"],
            "NewAmount": cancel["NewAmount"],
        }
        note["Token"] = reference_token(note, self.password)
        return json.dumps(note, ensure_ascii=False).encode()

    def pay(self, payment_id: str, status: str = "CONFIRMED") -> bytes:
        """The shopper pays; returns the signed notification body T-Bank posts to NotificationURL."""
        p = self.payments[payment_id]
        p["Status"] = status
        note: dict[str, Any] = {
            "TerminalKey": self.terminal_key,
            "OrderId": p["OrderId"],
            "Success": status == "CONFIRMED",
            "Status": status,
            "PaymentId": int(payment_id),
            "ErrorCode": "0",
            "Amount": p["Amount"],
            "CardId": 322264,
            "Pan": "430000******0777",
            "ExpDate": "1130",
            "SpAccumulationId": "acc-1",  # a field added later by the bank: it is part of the Token too
            "DATA": {"Source": "cards"},
        }
        note["Token"] = reference_token(note, self.password)
        return json.dumps(note, ensure_ascii=False).encode()
