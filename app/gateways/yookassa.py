"""YooKassa (API v3): hosted confirmation page, Idempotence-Key on every POST, unsigned notifications."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from app.gateways.base import (
    N_,
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
    parse_json_object,
)

# vat_code per YooKassa's docs (54fz/other-services/parameters-values#vat-codes): 1..6 since FFD 1.05, 7..10 (5 %,
# 7 %, 5/105, 7/107 for УСН payers) since 2025, 11 and 12 (22 %, 22/122) since 1 January 2026.
VAT_CODES = {
    "none": 1,
    "vat0": 2,
    "vat10": 3,
    "vat20": 4,
    "vat110": 5,
    "vat120": 6,
    "vat5": 7,
    "vat7": 8,
    "vat105": 9,
    "vat107": 10,
    "vat22": 11,
    "vat122": 12,
}
# Our payment modes are named as T-Bank and Robokassa name them; YooKassa's SDK (PaymentMode) calls the partial
# prepayment "partial_prepayment".
PAYMENT_MODES = {"prepayment": "partial_prepayment"}
TAX_SYSTEMS = {"osn": 1, "usn_income": 2, "usn_income_outcome": 3, "envd": 4, "esn": 5, "patent": 6}
_STATUSES = {
    "pending": PaymentStatus.PENDING,
    "waiting_for_capture": PaymentStatus.WAITING_CAPTURE,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
# A cancel for these reasons is the merchant's or a timeout, not a shopper's failed attempt.
_CANCEL_REASONS = {"canceled_by_merchant", "expired_on_capture", "expired_on_confirmation"}
_DECLINE_CODES = {
    "insufficient_funds": ErrorCode.INSUFFICIENT_FUNDS,
    "3d_secure_failed": ErrorCode.AUTHENTICATION_FAILED,
    "expired_on_confirmation": ErrorCode.EXPIRED,
    "expired_on_capture": ErrorCode.EXPIRED,
    "card_expired": ErrorCode.EXPIRED,
}
_MAX_ATTEMPTS = 3  # 202 "still processing" is answered by repeating the same request (PHP SDK default)


def money_json(money: Money) -> dict[str, str]:
    return {"value": money.format(), "currency": money.currency}


def money_from(data: Mapping[str, Any] | None) -> Money | None:
    if not data:
        return None
    return Money.from_decimal(str(data["value"]), str(data["currency"]))


def receipt_json(receipt: Receipt, email: str | None, phone: str | None) -> dict[str, Any]:
    customer = {
        k: v for k, v in (("email", receipt.email or email), ("phone", (receipt.phone or phone or "").lstrip("+"))) if v
    }
    body: dict[str, Any] = {
        "customer": customer,
        "items": [
            {
                "description": item.name[:128],
                "quantity": str(item.quantity),
                "amount": money_json(item.price),  # YooKassa's item "amount" is the unit price
                "vat_code": VAT_CODES[item.vat_code],
                "measure": item.measure,  # required under FFD 1.2 (the SDK's ReceiptItemMeasure)
                "payment_mode": PAYMENT_MODES.get(item.payment_mode, item.payment_mode),
                "payment_subject": item.payment_subject,
            }
            for item in receipt.items
        ],
    }
    if receipt.taxation:
        body["tax_system_code"] = TAX_SYSTEMS[receipt.taxation]
    return body


class YooKassaGateway(Gateway):
    code = "yookassa"
    display_name = N_("YooKassa")
    capabilities = frozenset(
        {
            Capability.REFUND,
            Capability.PARTIAL_REFUND,
            Capability.RECEIPTS,
            Capability.STATUS_QUERY,
            Capability.CAPTURE,
        }
    )
    config_fields = (
        ConfigField("shop_id", N_("Shop ID")),
        ConfigField("secret_key", N_("Secret key"), secret=True),
    )
    live_url = "https://api.yookassa.ru/v3"
    notification_needs_confirmation = True

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotence-Key": idempotency_key} if idempotency_key else {}
        auth = httpx.BasicAuth(self.config["shop_id"], self.config["secret_key"])
        for _ in range(_MAX_ATTEMPTS):
            response = await self.send(method, self.url(path), json=body, params=params, headers=headers, auth=auth)
            if response.status_code != 202:
                return self._checked(response)
            delay_ms = self.json_of(response).get("retry_after", 1000)
            await asyncio.sleep(min(float(delay_ms), 5000.0) / 1000)
        raise GatewayUnavailable(detail=f"{method} {path}: still processing after {_MAX_ATTEMPTS} attempts")

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        data = self.json_of(response)
        status = response.status_code
        if status < 300:
            return data
        detail = f"HTTP {status} {data.get('code')}: {data.get('description')} ({data.get('parameter')})"
        if status == 401:
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=detail)
        if status == 404:
            raise GatewayDeclined(code=ErrorCode.NOT_FOUND, detail=detail)
        raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=detail)

    def _result(self, payment: dict[str, Any]) -> GatewayResult:
        status = _STATUSES.get(payment.get("status", ""), PaymentStatus.PENDING)
        amount = money_from(payment.get("amount"))
        refunded = money_from(payment.get("refunded_amount"))
        error = None
        if status is PaymentStatus.CANCELED:
            reason = (payment.get("cancellation_details") or {}).get("reason", "")
            if reason not in _CANCEL_REASONS:
                status, error = PaymentStatus.FAILED, _DECLINE_CODES.get(reason, ErrorCode.CARD_DECLINED)
        elif status is PaymentStatus.SUCCEEDED and refunded and amount and refunded.minor > 0:
            full = refunded.minor >= amount.minor
            status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        confirmation = payment.get("confirmation") or {}
        step = None
        if confirmation.get("confirmation_url"):
            step = ShopperStep(StepKind.REDIRECT, url=confirmation["confirmation_url"])
        elif confirmation.get("confirmation_token"):
            step = ShopperStep(StepKind.WIDGET, widget={"confirmation_token": confirmation["confirmation_token"]})
        return GatewayResult(status, payment.get("id"), amount, step, refunded, error, raw=payment)

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        body: dict[str, Any] = {
            "amount": money_json(req.amount),
            "capture": req.capture,
            "confirmation": {
                "type": "redirect",
                "return_url": req.return_url,
                "locale": "ru_RU" if req.locale == "ru" else "en_US",
            },
            "description": req.description[:128],
            "metadata": {**req.metadata, "payment_ref": req.payment_ref, "order_number": req.order_number},
        }
        if req.receipt is not None:
            body["receipt"] = receipt_json(req.receipt, req.customer_email, req.customer_phone)
        return self._result(await self._call("POST", "/payments", body=body, idempotency_key=req.idempotency_key))

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        if not provider_payment_id:
            # No lookup by our reference: after a lost create, repeat it with the same idempotency key.
            raise RequestInvalid(detail="YooKassa needs the payment id")
        return self._result(await self._call("GET", f"/payments/{provider_payment_id}"))

    async def capture(
        self, provider_payment_id: str, *, idempotency_key: str, amount: Money | None = None
    ) -> GatewayResult:
        body = {"amount": money_json(amount)} if amount else {}
        payment = await self._call(
            "POST", f"/payments/{provider_payment_id}/capture", body=body, idempotency_key=idempotency_key
        )
        return self._result(payment)

    async def refund(self, req: RefundRequest) -> RefundResult:
        body: dict[str, Any] = {"payment_id": req.provider_payment_id, "amount": money_json(req.amount)}
        if req.reason:
            body["description"] = req.reason[:250]
        if req.receipt is not None:
            body["receipt"] = receipt_json(req.receipt, None, None)
        try:
            refund = await self._call("POST", "/refunds", body=body, idempotency_key=req.idempotency_key)
        except GatewayDeclined as exc:
            if "amount" in exc.detail:
                raise GatewayDeclined(
                    code=ErrorCode.REFUND_EXCEEDS_PAYMENT,
                    detail=exc.detail,
                ) from None
            raise
        if refund.get("status") == "canceled":
            raise GatewayDeclined(detail=f"refund canceled: {refund.get('cancellation_details')}")
        return RefundResult(
            str(refund["id"]),
            "succeeded" if refund.get("status") == "succeeded" else "pending",
            money_from(refund.get("amount")) or req.amount,
            refund,
        )

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        """Nothing to verify: YooKassa signs nothing. ``verified=False`` tells the pipeline to re-fetch."""
        data = parse_json_object(raw_body)
        event, obj = data.get("event"), data.get("object")
        if data.get("type") != "notification" or not isinstance(event, str) or not isinstance(obj, dict):
            raise SignatureInvalid(N_("The notification body is not valid."))
        try:
            amount = money_from(obj.get("amount"))
        except (KeyError, ValueError):
            raise SignatureInvalid(N_("The notification body is not valid.")) from None
        metadata = obj.get("metadata") or {}
        if event.startswith("refund."):  # the object is the refund: its own id, amount and payment_id
            return Notification(
                False,
                f"{event}:{obj.get('id')}",
                NotificationKind.REFUND if obj.get("status") == "succeeded" else NotificationKind.INFO,
                None,
                obj.get("payment_id"),
                metadata.get("payment_ref"),
                amount,
                data,
                refund_id=str(obj.get("id") or "") or None,
            )
        kind = NotificationKind.PAYMENT if event.startswith("payment.") else NotificationKind.INFO
        status = self._result(obj).status if kind is NotificationKind.PAYMENT else None
        return Notification(
            False,
            f"{event}:{obj.get('id')}",
            kind,
            status,
            obj.get("id"),
            metadata.get("payment_ref"),
            amount,
            data,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "text/plain", b""

    async def check_connection(self) -> None:
        await self._call("GET", "/payments", params={"limit": "1"})
