"""T-Bank (Tinkoff) Acquiring API v2: Init/GetState/CheckOrder/Cancel signed with a SHA-256 Token."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.gateways.base import (
    N_,
    TAXATION_SYSTEMS,
    Capability,
    ConfigField,
    ConfigInvalid,
    ErrorCode,
    Gateway,
    GatewayDeclined,
    GatewayResult,
    GatewayUnavailable,
    Money,
    Notification,
    NotificationKind,
    PaymentRequest,
    PaymentStatus,
    Receipt,
    RefundRequest,
    RefundResult,
    RequestInvalid,
    ShopperStep,
    SignatureInvalid,
    StepKind,
    safe_equal,
)

_STATUSES = {
    **dict.fromkeys(
        ("NEW", "FORM_SHOWED", "AUTHORIZING", "3DS_CHECKING", "3DS_CHECKED", "PAY_CHECKING"),
        PaymentStatus.PENDING,
    ),
    # Money is held but not yet captured; CONFIRMING is not final, so it is not "succeeded" yet.
    **dict.fromkeys(("AUTHORIZED", "CONFIRMING", "REVERSING", "PARTIAL_REVERSED"), PaymentStatus.WAITING_CAPTURE),
    **dict.fromkeys(("CONFIRMED", "REFUNDING"), PaymentStatus.SUCCEEDED),
    "PARTIAL_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    **dict.fromkeys(("REVERSED", "CANCELED", "DEADLINE_EXPIRED"), PaymentStatus.CANCELED),
    **dict.fromkeys(("REJECTED", "AUTH_FAIL"), PaymentStatus.FAILED),
}
_RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.CANCELED: 1,
    PaymentStatus.WAITING_CAPTURE: 2,
    PaymentStatus.SUCCEEDED: 3,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 5,
}
_REFUND_STATUSES = {"REFUNDED", "PARTIAL_REFUNDED", "REVERSED", "PARTIAL_REVERSED"}
# ErrorCode values seen in integrations: 204 wrong token (terminal/password pair), 9999 internal error.
_CREDENTIAL_ERRORS = {"202", "204"}
_UNAVAILABLE_ERRORS = {"9999"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def token(params: Mapping[str, Any], password: str) -> str:
    """Root-level scalars only (nested objects/arrays and Token itself excluded) plus Password, sorted by
    key, values concatenated, SHA-256 lower hex. Every received scalar counts: the bank adds fields."""
    pairs = {k: v for k, v in params.items() if k != "Token" and not isinstance(v, dict | list)}
    pairs["Password"] = password
    return hashlib.sha256("".join(_scalar(pairs[k]) for k in sorted(pairs)).encode()).hexdigest()


def receipt_json(receipt: Receipt, email: str | None, phone: str | None, taxation: str | None = None) -> dict[str, Any]:
    if not receipt.taxation and taxation:
        receipt = dataclasses.replace(receipt, taxation=taxation)
    if not receipt.taxation:
        raise RequestInvalid(N_("The receipt needs a taxation system."), code=ErrorCode.INVALID_REQUEST)
    items = [
        {
            "Name": i.name[:128],
            "Price": i.price.minor,
            "Quantity": float(i.quantity),
            "Amount": i.amount.minor,
            "Tax": i.vat_code,
            "PaymentMethod": i.payment_mode,
            "PaymentObject": i.payment_subject,
        }
        for i in receipt.items
    ]
    body: dict[str, Any] = {"Items": items, "Taxation": receipt.taxation}
    contact = {"Email": receipt.email or email, "Phone": receipt.phone or phone}
    return {**body, **{k: v for k, v in contact.items() if v}}


def refund_name(data: Mapping[str, Any]) -> str | None:
    """A refund's stable name: the payment and what was left of it after (a refund's own id T-Bank lacks)."""
    if data.get("OriginalAmount") is None or data.get("NewAmount") is None:
        return None
    return f"{data.get('PaymentId')}:left:{int(data['NewAmount'])}"


class TBankGateway(Gateway):
    code = "tbank"
    display_name = N_("T-Bank (Tinkoff)")
    capabilities = frozenset(
        {Capability.REFUND, Capability.PARTIAL_REFUND, Capability.RECEIPTS, Capability.STATUS_QUERY}
    )
    currencies = frozenset({"RUB"})
    config_fields = (
        ConfigField("terminal_key", N_("Terminal key")),
        ConfigField("password", N_("Terminal password"), secret=True),
        ConfigField(
            "taxation",
            N_("Taxation system"),
            required=False,
            choices=TAXATION_SYSTEMS,
            default="osn",
            help=N_("Printed on fiscal receipts (54-FZ)."),
        ),
        ConfigField(
            "pay_type",
            N_("Payment stages"),
            required=False,
            choices=("one_stage", "two_stage"),
            help=N_("Leave empty to use the terminal's own setting."),
        ),
    )
    live_url = "https://securepay.tinkoff.ru"
    # T-Bank's docs: DEMO terminals work against the production host; the test host is for live terminals
    # whose IP addresses T-Bank has whitelisted.
    test_url = "https://rest-api-test.tinkoff.ru"

    def default_url(self) -> str:
        if str(self.config.get("terminal_key") or "").upper().endswith("DEMO"):
            return self.live_url
        return super().default_url()

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"TerminalKey": self.config["terminal_key"], **body}
        body["Token"] = token(body, self.config["password"])
        response = await self.send("POST", self.url(f"/v2/{method}"), json=body)
        data = self.json_of(response)
        code = str(data.get("ErrorCode", "0"))
        if data.get("Success") and code == "0":
            return data
        detail = f"{method}: ErrorCode {code}: {data.get('Message')} {data.get('Details') or ''}".strip()
        if code in _CREDENTIAL_ERRORS:
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=detail)
        if code in _UNAVAILABLE_ERRORS:
            raise GatewayUnavailable(detail=detail)
        raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=detail)

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        """T-Bank has no idempotency header: OrderId (our payment_ref) is the key; after a timeout use
        fetch_status(payment_ref=...) (CheckOrder) instead of a new Init."""
        if req.amount.currency != "RUB" or len(req.payment_ref) > 36:
            raise RequestInvalid(detail="T-Bank takes RUB and an OrderId of at most 36 characters")
        body: dict[str, Any] = {
            "Amount": req.amount.minor,
            "OrderId": req.payment_ref,
            "Description": req.description[:140],
            "Language": "ru" if req.locale == "ru" else "en",
            "NotificationURL": req.notify_url,
            "SuccessURL": req.return_url,
            "FailURL": req.fail_url or req.return_url,
            "DATA": {k: v for k, v in (("Email", req.customer_email), ("Phone", req.customer_phone)) if v},
        }
        pay_type = {"one_stage": "O", "two_stage": "T"}.get(self.config.get("pay_type") or "")
        if pay_type or not req.capture:  # only when the store set it, or a payment asks for two stages
            body["PayType"] = pay_type or "T"
        if req.receipt is not None:
            body["Receipt"] = receipt_json(
                req.receipt, req.customer_email, req.customer_phone, self.config.get("taxation")
            )
        data = await self._call("Init", body)
        step = ShopperStep(StepKind.REDIRECT, url=str(data["PaymentURL"]))
        return GatewayResult(PaymentStatus.PENDING, str(data["PaymentId"]), req.amount, shopper_step=step, raw=data)

    def _result(self, data: Mapping[str, Any]) -> GatewayResult:
        status_name = str(data.get("Status", ""))
        status = _STATUSES.get(status_name, PaymentStatus.PENDING)
        error = {
            "AUTH_FAIL": ErrorCode.AUTHENTICATION_FAILED,
            "REJECTED": ErrorCode.CARD_DECLINED,
            "DEADLINE_EXPIRED": ErrorCode.EXPIRED,
        }.get(status_name)
        amount = Money(int(data["Amount"]), "RUB") if data.get("Amount") is not None else None
        return GatewayResult(status, str(data.get("PaymentId")), amount, error_code=error, raw=dict(data))

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        if provider_payment_id:
            return self._result(await self._call("GetState", {"PaymentId": provider_payment_id}))
        data = await self._call("CheckOrder", {"OrderId": payment_ref})
        payments = data.get("Payments") or []
        if not payments:
            return GatewayResult(PaymentStatus.PENDING, None)
        # Several Inits may share an OrderId; the most advanced one tells the truth.
        return max((self._result(p) for p in payments), key=lambda r: _RANK[r.status])

    async def refund(self, req: RefundRequest) -> RefundResult:
        if req.amount.currency != "RUB":
            raise RequestInvalid(code=ErrorCode.INVALID_AMOUNT)
        body: dict[str, Any] = {
            "PaymentId": req.provider_payment_id,
            "Amount": req.amount.minor,
            "ExternalRequestId": req.idempotency_key,
        }
        if req.receipt is not None:
            body["Receipt"] = receipt_json(req.receipt, None, None, self.config.get("taxation"))
        data = await self._call("Cancel", body)
        done = str(data.get("Status")) in _REFUND_STATUSES
        name = refund_name(data) or req.idempotency_key
        return RefundResult(name, "succeeded" if done else "pending", req.amount, data)

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        try:
            # Decimal keeps any fractional number exactly as sent, which is what the Token covers.
            data = json.loads(raw_body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise SignatureInvalid(N_("The notification body is not valid JSON.")) from None
        if not isinstance(data, dict) or data.get("TerminalKey") != self.config["terminal_key"]:
            raise SignatureInvalid()
        given = str(data.get("Token", ""))
        if not given or not safe_equal(token(data, self.config["password"]), given.lower()):
            raise SignatureInvalid()
        status_name = str(data.get("Status", ""))
        result = self._result(data)
        kind = NotificationKind.PAYMENT
        if status_name in _REFUND_STATUSES:
            kind = NotificationKind.REFUND
        elif status_name not in _STATUSES:
            kind = NotificationKind.INFO  # AddCard, fiscal receipt (RECEIPT), QR ...
        event_id = f"{data.get('PaymentId')}:{status_name}:{given[:16]}"
        amount, refund_id = result.amount, None
        if status_name in ("REFUNDED", "PARTIAL_REFUNDED"):
            # T-Bank names no refund; what is left of the payment after it (NewAmount, as Cancel answers) does,
            # and OriginalAmount - NewAmount is its amount. REFUNDED without them: all of it (the pipeline).
            amount, refund_id = None, refund_name(data)
            if refund_id is not None:
                amount = Money(int(data["OriginalAmount"]) - int(data["NewAmount"]), "RUB")
        return Notification(
            True,
            event_id,
            kind,
            result.status,
            result.provider_payment_id,
            str(data.get("OrderId") or "") or None,
            amount,
            data,
            refund_id=refund_id,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "text/plain", b"OK"

    async def check_connection(self) -> None:
        """GetState of a payment that cannot exist: "not found" means the terminal key and password were
        accepted; ErrorCode 202/204 (unknown terminal, bad Token) raise ConfigInvalid."""
        if len(self.config["terminal_key"]) > 20:
            raise ConfigInvalid({"terminal_key": N_("The terminal key has at most 20 characters.")})
        try:
            await self._call("GetState", {"PaymentId": "1"})
        except GatewayDeclined:
            return None
