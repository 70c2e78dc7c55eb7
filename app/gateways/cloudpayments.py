"""CloudPayments: invoice link (orders/create) or widget, HMAC-signed notifications, X-Request-ID."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import httpx

from app.gateways.base import (
    N_,
    ROUTE_KIND,
    Capability,
    ConfigField,
    ConfigInvalid,
    ErrorCode,
    Gateway,
    GatewayDeclined,
    GatewayResult,
    Money,
    Notification,
    NotificationKind,
    PaymentRequest,
    PaymentStatus,
    Receipt,
    RefundRequest,
    RefundResult,
    ShopperStep,
    SignatureInvalid,
    StepKind,
    lower_headers,
    parse_form,
    safe_equal,
)

_STATUSES = {
    "AwaitingAuthentication": PaymentStatus.PENDING,
    "Authorized": PaymentStatus.WAITING_CAPTURE,
    "Completed": PaymentStatus.SUCCEEDED,
    "Cancelled": PaymentStatus.CANCELED,
    "Declined": PaymentStatus.FAILED,
}
# Notification type, from the route: the cabinet takes one URL per type, and the HMAC covers only the body, so
# a query string could be changed by anyone replaying a signed body. -> kind and status.
_TYPES = {
    "check": (NotificationKind.CHECK, None),
    "pay": (NotificationKind.PAYMENT, None),  # status from Status: Completed or Authorized
    "fail": (NotificationKind.PAYMENT, PaymentStatus.FAILED),
    "confirm": (NotificationKind.PAYMENT, PaymentStatus.SUCCEEDED),
    "cancel": (NotificationKind.PAYMENT, PaymentStatus.CANCELED),
    "refund": (NotificationKind.REFUND, None),
}
_REASONS = {
    5051: ErrorCode.INSUFFICIENT_FUNDS,
    5054: ErrorCode.EXPIRED,
    5206: ErrorCode.AUTHENTICATION_FAILED,
    5207: ErrorCode.AUTHENTICATION_FAILED,
}
# Receipt codes follow the FFD tag numbering; the CustomerReceipt field names beyond label/price/quantity/
# amount/vat (method, object, taxationSystem values) are [unverified] against the CloudPayments docs.
_VAT = {
    "none": None,
    "vat0": 0,
    "vat5": 5,
    "vat7": 7,
    "vat10": 10,
    "vat20": 20,
    "vat22": 22,
    "vat105": 105,
    "vat107": 107,
    "vat110": 110,
    "vat120": 120,
    "vat122": 122,
}
_METHODS = {
    "full_prepayment": 1,
    "prepayment": 2,
    "advance": 3,
    "full_payment": 4,
    "partial_payment": 5,
    "credit": 6,
    "credit_payment": 7,
}
_OBJECTS = {
    "commodity": 1,
    "excise": 2,
    "job": 3,
    "service": 4,
    "gambling_bet": 5,
    "gambling_prize": 6,
    "lottery": 7,
    "lottery_prize": 8,
    "intellectual_activity": 9,
    "payment": 10,
    "agent_commission": 11,
    "composite": 12,
    "another": 13,
}
_TAXATION = {"osn": 0, "usn_income": 1, "usn_income_outcome": 2, "envd": 3, "esn": 4, "patent": 5}


def hmac_b64(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def signature_matches(secret: str, raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """Which of Content-HMAC / X-Content-HMAC covers the URL-decoded body is [unverified]: accept either
    header over either the raw or the decoded bytes (both are keyed with the API secret)."""
    given = [v for k, v in lower_headers(headers).items() if k in ("content-hmac", "x-content-hmac") and v]
    candidates = {
        hmac_b64(secret, raw_body),
        hmac_b64(secret, unquote_plus(raw_body.decode("utf-8", "replace")).encode()),
    }
    return any(safe_equal(mine, theirs.strip()) for mine in candidates for theirs in given)


def _number(money: Money) -> float:
    # The API takes a JSON number; float's repr is the shortest round-trip, so "1500.5" stays 1500.5.
    return float(money.to_decimal())


def receipt_json(receipt: Receipt, email: str | None, phone: str | None) -> dict[str, Any]:
    items = [
        {
            "label": i.name[:128],
            "price": _number(i.price),
            "quantity": float(i.quantity),
            "amount": _number(i.amount),
            "vat": _VAT[i.vat_code],
            "method": _METHODS[i.payment_mode],
            "object": _OBJECTS[i.payment_subject],
        }
        for i in receipt.items
    ]
    body: dict[str, Any] = {"Items": items, "email": receipt.email or email, "phone": receipt.phone or phone}
    if receipt.taxation:
        body["taxationSystem"] = _TAXATION[receipt.taxation]
    return body


def _agrees(kind_name: str, fields: Mapping[str, Any]) -> None:
    """The body must be of the type its address says: a refund is an OperationType=Refund body and nothing else
    is; a Pay carries a paid status; a Fail is a payment body."""
    refund = str(fields.get("OperationType") or "") == "Refund"
    fits = {
        "refund": refund and bool(fields.get("PaymentTransactionId")),
        "pay": not refund and str(fields.get("Status")) in ("Completed", "Authorized"),
    }.get(kind_name, not refund)
    if not fits:
        raise SignatureInvalid(N_("The notification body does not match its address."))


class CloudPaymentsGateway(Gateway):
    code = "cloudpayments"
    display_name = N_("CloudPayments")
    capabilities = frozenset(
        {Capability.REFUND, Capability.PARTIAL_REFUND, Capability.RECEIPTS, Capability.STATUS_QUERY}
    )
    config_fields = (
        ConfigField("public_id", N_("Public ID")),
        ConfigField("api_secret", N_("API secret"), secret=True),
    )
    live_url = "https://api.cloudpayments.ru"
    notification_kinds = tuple(_TYPES)

    async def _call(self, path: str, body: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
        headers = {"X-Request-ID": request_id} if request_id else {}
        auth = httpx.BasicAuth(self.config["public_id"], self.config["api_secret"])
        response = await self.send("POST", self.url(path), json=dict(body), headers=headers, auth=auth)
        if response.status_code == 401:
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=f"{path}: HTTP 401")
        return self.json_of(response)

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        body: dict[str, Any] = {
            "Amount": _number(req.amount),
            "Currency": req.amount.currency,
            "Description": req.description,
            "InvoiceId": req.payment_ref,
            "RequireConfirmation": not req.capture,
            "CultureInfo": {"ru": "ru-RU", "uk": "uk"}.get(req.locale, "en-US"),
        }
        if req.customer_email:
            body["Email"] = req.customer_email
        if req.customer_phone:
            body["Phone"] = req.customer_phone
        data_field = {"payment_ref": req.payment_ref, "order_number": req.order_number}
        if req.receipt is not None:
            receipt = receipt_json(req.receipt, req.customer_email, req.customer_phone)
            data_field["CloudPayments"] = {"CustomerReceipt": receipt}  # type: ignore[assignment]
        body["JsonData"] = json.dumps(data_field, ensure_ascii=False)
        data = await self._call("/orders/create", body, request_id=req.idempotency_key)
        model = data.get("Model") or {}
        if not data.get("Success") or not model.get("Url"):
            raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=str(data.get("Message")))
        widget = {
            "publicId": self.config["public_id"],
            "description": req.description,
            "amount": _number(req.amount),
            "currency": req.amount.currency,
            "invoiceId": req.payment_ref,
            "email": req.customer_email or "",
            "data": data_field,
        }
        step = ShopperStep(StepKind.REDIRECT, url=str(model["Url"]), widget=widget)
        # No transaction exists until the shopper pays; look it up later by our InvoiceId.
        return GatewayResult(PaymentStatus.PENDING, None, req.amount, shopper_step=step, raw=model)

    def _result(self, model: Mapping[str, Any]) -> GatewayResult:
        status = _STATUSES.get(str(model.get("Status")), PaymentStatus.PENDING)
        amount = Money.from_decimal(str(model["Amount"]), str(model.get("Currency", "RUB")))
        error = None
        if status is PaymentStatus.FAILED:
            error = _REASONS.get(int(model.get("ReasonCode") or 0), ErrorCode.CARD_DECLINED)
        return GatewayResult(status, str(model.get("TransactionId")), amount, error_code=error, raw=dict(model))

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        if provider_payment_id:
            data = await self._call("/payments/get", {"TransactionId": int(provider_payment_id)})
        else:
            data = await self._call("/payments/find", {"InvoiceId": payment_ref})
        if data.get("Success") or (data.get("Model") or {}).get("Status"):
            return self._result(data["Model"])
        if provider_payment_id:
            raise GatewayDeclined(code=ErrorCode.NOT_FOUND, detail=str(data.get("Message")))
        return GatewayResult(PaymentStatus.PENDING, None)  # the shopper has not paid yet

    async def refund(self, req: RefundRequest) -> RefundResult:
        body: dict[str, Any] = {"TransactionId": int(req.provider_payment_id), "Amount": _number(req.amount)}
        if req.receipt is not None:
            # The refund receipt rides in JsonData like the payment's [unverified: same key as on payments].
            receipt = receipt_json(req.receipt, None, None)
            body["JsonData"] = json.dumps({"CloudPayments": {"CustomerReceipt": receipt}}, ensure_ascii=False)
        data = await self._call("/payments/refund", body, request_id=req.idempotency_key)
        if not data.get("Success"):
            raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=str(data.get("Message")))
        refund_id = str((data.get("Model") or {}).get("TransactionId", ""))
        return RefundResult(refund_id, "succeeded", req.amount, data)

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        if not signature_matches(self.config["api_secret"], raw_body, headers):
            raise SignatureInvalid()
        try:
            text = raw_body.decode("utf-8")
            fields: dict[str, Any] = (
                json.loads(text, parse_float=Decimal) if text.lstrip().startswith("{") else parse_form(text)
            )
            amount = Money.from_decimal(str(fields["Amount"]), str(fields.get("Currency") or "RUB"))
        except (ValueError, KeyError):
            raise SignatureInvalid(N_("The notification body is not valid.")) from None
        kind_name = query.get(ROUTE_KIND, "")
        if kind_name not in _TYPES:
            raise SignatureInvalid(N_("The notification address names no notification type."))
        _agrees(kind_name, fields)
        kind, status = _TYPES[kind_name]
        transaction = str(fields.get("TransactionId", ""))
        payment_id = transaction
        if kind is NotificationKind.REFUND:
            payment_id = str(fields.get("PaymentTransactionId") or transaction)
        elif kind is NotificationKind.PAYMENT and status is None:
            status = _STATUSES[str(fields.get("Status"))]
        return Notification(
            # Pay and Confirm credit money: the pipeline asks the API about the transaction first, since the
            # signed body of a Check (same fields, same Status) could be replayed to the Pay address.
            kind_name not in ("pay", "confirm"),
            f"{kind_name}:{transaction}",
            kind,
            status,
            payment_id,
            str(fields.get("InvoiceId") or "") or None,
            amount,
            fields,
            refund_id=transaction if kind is NotificationKind.REFUND else None,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"code":0}'

    def check_answer(self, notification: Notification, refusal: str | None) -> tuple[int, str, bytes]:
        """Check: ``{"code":0}`` lets the payment go ahead; 10 unknown InvoiceId, 12 wrong amount, 13 rejected."""
        if refusal is None:
            return self.notification_response(notification)
        return self.reject_response({"unknown_payment": 10, "amount": 12}.get(refusal, 13))

    @staticmethod
    def reject_response(code: int) -> tuple[int, str, bytes]:
        """Refuse a Check: 10 bad InvoiceId, 11 bad AccountId, 12 bad amount, 13 rejected, 20 expired."""
        return 200, "application/json", json.dumps({"code": code}).encode()

    async def check_connection(self) -> None:
        data = await self._call("/test", {})
        if not data.get("Success"):
            raise ConfigInvalid(detail=str(data.get("Message")))
