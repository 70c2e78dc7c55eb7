"""LiqPay (API v3): base64 ``data`` + SHA-1 ``signature`` for the checkout form, callbacks and API."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from app.gateways.base import (
    N_,
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
    RefundRequest,
    RefundResult,
    RequestInvalid,
    ShopperStep,
    SignatureInvalid,
    StepKind,
    parse_form,
    safe_equal,
)

_FINAL = {
    "success": PaymentStatus.SUCCEEDED,
    "failure": PaymentStatus.FAILED,
    "error": PaymentStatus.FAILED,
    "reversed": PaymentStatus.REFUNDED,
    "hold_wait": PaymentStatus.WAITING_CAPTURE,
}
_INFO = {"subscribed", "unsubscribed"}
# err_code values that mean "these keys are wrong" rather than "no such order" [unverified].
_KEY_ERRORS = {"public_key_not_found", "invalid_signature", "err_signature", "public_key"}


def signature(data: str, private_key: str) -> str:
    """base64(sha1(private_key + data + private_key)) over the base64 ``data`` STRING, not decoded JSON."""
    digest = hashlib.sha1((private_key + data + private_key).encode()).digest()  # noqa: S324 - LiqPay's scheme
    return base64.b64encode(digest).decode()


def encode_data(params: Mapping[str, Any]) -> str:
    """As the official SDK: ``json.dumps(sort_keys=True)`` with default separators, then base64."""
    return base64.b64encode(json.dumps(dict(params), sort_keys=True).encode()).decode()


def decode_data(data: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error):
        raise SignatureInvalid(N_("The notification body is not valid.")) from None
    if not isinstance(decoded, dict):
        raise SignatureInvalid(N_("The notification body is not valid."))
    return decoded


class LiqPayGateway(Gateway):
    code = "liqpay"
    display_name = N_("LiqPay")
    capabilities = frozenset({Capability.REFUND, Capability.PARTIAL_REFUND, Capability.STATUS_QUERY})
    currencies = frozenset({"UAH", "USD", "EUR"})
    config_fields = (
        ConfigField("public_key", N_("Public key")),
        ConfigField("private_key", N_("Private key"), secret=True),
    )
    live_url = "https://www.liqpay.ua"

    def _signed(self, params: Mapping[str, Any]) -> tuple[str, str]:
        data = encode_data({"version": 3, "public_key": self.config["public_key"], **params})
        return data, signature(data, self.config["private_key"])

    async def _api(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # The docs' form (base64 data + signature); the SDK's raw-JSON api() contradicts them (our notes).
        data, sig = self._signed(params)
        response = await self.send("POST", self.url("/api/request"), data={"data": data, "signature": sig})
        answer = self.json_of(response)
        if answer.get("result") == "error" and str(answer.get("err_code")) in _KEY_ERRORS:
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=str(answer.get("err_code")))
        return answer

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        if req.amount.currency not in self.currencies:
            raise RequestInvalid(code=ErrorCode.INVALID_AMOUNT)
        params = {
            "action": "pay" if req.capture else "hold",
            "amount": req.amount.format(),
            "currency": req.amount.currency,
            "description": req.description,
            "order_id": req.payment_ref,
            "result_url": req.return_url,
            "server_url": req.notify_url,
            "language": "en" if req.locale == "en" else "uk",
        }
        if self.test_mode:
            params["sandbox"] = "1"
        data, sig = self._signed(params)
        step = ShopperStep(
            StepKind.FORM_POST, url=self.url("/api/3/checkout"), fields=(("data", data), ("signature", sig))
        )
        # LiqPay has no create call and no idempotency header: order_id (our payment_ref) is the key.
        return GatewayResult(PaymentStatus.PENDING, req.payment_ref, req.amount, shopper_step=step)

    def _status(self, name: str) -> PaymentStatus:
        if name == "sandbox":  # test-mode success; on a live connection no money moved
            return PaymentStatus.SUCCEEDED if self.test_mode else PaymentStatus.FAILED
        return _FINAL.get(name, PaymentStatus.PENDING)

    def _result(self, answer: Mapping[str, Any]) -> GatewayResult:
        amount = None
        if answer.get("amount") is not None and answer.get("currency"):
            amount = Money.from_decimal(str(answer["amount"]), str(answer["currency"]))
        status = self._status(str(answer.get("status")))
        error = ErrorCode.CARD_DECLINED if status is PaymentStatus.FAILED else None
        return GatewayResult(status, str(answer.get("order_id") or ""), amount, error_code=error, raw=dict(answer))

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        order_id = payment_ref or provider_payment_id
        answer = await self._api({"action": "status", "order_id": order_id})
        if answer.get("err_code") == "payment_not_found" or (
            answer.get("result") == "error" and not answer.get("status")
        ):
            return GatewayResult(PaymentStatus.PENDING, order_id, raw=answer)  # no payment attempt yet
        return self._result(answer)

    async def refund(self, req: RefundRequest) -> RefundResult:
        """Action ``refund`` {order_id, amount} is [unverified]; it has no idempotency key, so after
        GatewayUnavailable check fetch_status before trying again."""
        order_id = req.payment_ref or req.provider_payment_id
        answer = await self._api({"action": "refund", "order_id": order_id, "amount": req.amount.format()})
        if answer.get("result") != "ok":
            detail = f"{answer.get('err_code')}: {answer.get('err_description')}"
            raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=detail)
        return RefundResult(f"{order_id}:{req.idempotency_key}", "succeeded", req.amount, answer)

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        form = parse_form(raw_body)
        data, given = form.get("data", ""), form.get("signature", "")
        if not data or not given or not safe_equal(signature(data, self.config["private_key"]), given):
            raise SignatureInvalid()
        payload = decode_data(data)
        if payload.get("public_key") not in (None, self.config["public_key"]):
            raise SignatureInvalid(detail="callback for another public key")
        result = self._result(payload)
        name = str(payload.get("status"))
        kind = NotificationKind.INFO if name in _INFO else NotificationKind.PAYMENT
        kind = NotificationKind.REFUND if payload.get("action") == "refund" or name == "reversed" else kind
        event_id = f"{payload.get('payment_id') or result.provider_payment_id}:{name}:{given[:12]}"
        return Notification(
            True,
            event_id,
            kind,
            result.status,
            result.provider_payment_id,
            str(payload.get("order_id") or "") or None,
            result.amount,
            payload,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "text/plain", b""  # no body contract is documented [unverified]: any 200

    async def check_connection(self) -> None:
        """A status query for an order that cannot exist: "not found" means the keys were accepted."""
        await self._api({"action": "status", "order_id": "autooffice-connection-check"})
