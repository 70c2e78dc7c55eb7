"""WayForPay: HMAC-MD5 signed purchase form, JSON serviceUrl callback with a signed accept reply, JSON API."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
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
    ShopperStep,
    SignatureInvalid,
    StepKind,
    safe_equal,
)

API_URL = "https://api.wayforpay.com/api"
CALLBACK_FIELDS = (
    "merchantAccount",
    "orderReference",
    "amount",
    "currency",
    "authCode",
    "cardPan",
    "transactionStatus",
    "reasonCode",
)
_STATUSES = {
    "Approved": PaymentStatus.SUCCEEDED,
    "WaitingAuthComplete": PaymentStatus.WAITING_CAPTURE,
    "Declined": PaymentStatus.FAILED,
    "Expired": PaymentStatus.CANCELED,
    "Voided": PaymentStatus.CANCELED,
    "Refunded": PaymentStatus.REFUNDED,
    "RefundInProcessing": PaymentStatus.SUCCEEDED,
}
_REFUND_STATUSES = {"Refunded", "RefundInProcessing", "Voided"}
_LANGUAGES = {"ru": "RU", "uk": "UA", "en": "EN"}


def php_string(value: object) -> str:
    """A JSON value as WayForPay's PHP signs it (``implode`` casts): null and false are "", true is "1"."""
    if value is None or value is False:
        return ""
    return "1" if value is True else str(value)


def sign(secret: str, values: Sequence[str]) -> str:
    """HMAC-MD5 (key = merchant secret) over the values joined with ``;``, lower-case hex."""
    return hmac.new(secret.encode(), ";".join(values).encode(), hashlib.md5).hexdigest()


def _number_forms(literal: str) -> list[str]:
    """The amount as received and as PHP prints a float (1547.36, 100): which one WayForPay signs when the
    JSON carries ``100.00`` is [unverified], so both are tried."""
    forms = [literal]
    try:
        normal = format(Decimal(literal).normalize(), "f")
    except InvalidOperation:
        return forms
    return forms if normal == literal else [*forms, normal]


def products(req: PaymentRequest) -> tuple[list[str], list[str], list[str]]:
    """Names, prices, counts: receipt lines when counts are whole, else one line for the whole order."""
    items = req.receipt.items if req.receipt else ()
    if items and all(i.quantity == i.quantity.to_integral_value() for i in items):
        return (
            [i.name for i in items],
            [i.price.format() for i in items],
            [str(int(i.quantity)) for i in items],
        )
    return [req.description or req.order_number], [req.amount.format()], ["1"]


class WayForPayGateway(Gateway):
    code = "wayforpay"
    display_name = N_("WayForPay")
    capabilities = frozenset({Capability.REFUND, Capability.PARTIAL_REFUND, Capability.STATUS_QUERY})
    config_fields = (
        ConfigField("merchant_account", N_("Merchant login (merchantAccount)")),
        ConfigField("secret_key", N_("Merchant secret key"), secret=True),
        ConfigField("merchant_domain", N_("Store domain"), help=N_("The domain registered with WayForPay.")),
    )
    live_url = "https://secure.wayforpay.com"

    @property
    def api_url(self) -> str:
        return API_URL if self.base_url == self.live_url else f"{self.base_url}/api"

    def _sign(self, values: Sequence[str]) -> str:
        return sign(self.config["secret_key"], values)

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        names, prices, counts = products(req)
        account, domain = self.config["merchant_account"], self.config["merchant_domain"]
        order_date = str(int(self.clock().timestamp()))
        amount = req.amount.format()
        signature = self._sign(
            [
                account,
                domain,
                req.payment_ref,
                order_date,
                amount,
                req.amount.currency,
                *names,
                *counts,
                *prices,
            ]
        )  # names, COUNTS, prices: the documented order
        fields: list[tuple[str, str]] = [
            ("merchantAccount", account),
            ("merchantAuthType", "SimpleSignature"),
            ("merchantDomainName", domain),
            ("merchantTransactionType", "AUTO" if req.capture else "AUTH"),
            ("merchantTransactionSecureType", "AUTO"),
            ("merchantSignature", signature),
            ("language", _LANGUAGES.get(req.locale, "EN")),
            ("returnUrl", req.return_url),
            ("serviceUrl", req.notify_url),
            ("orderReference", req.payment_ref),
            ("orderDate", order_date),
            ("amount", amount),
            ("currency", req.amount.currency),
            ("orderNo", req.order_number),
            *(("productName[]", n) for n in names),
            *(("productPrice[]", p) for p in prices),
            *(("productCount[]", c) for c in counts),
        ]
        if req.customer_email:
            fields.append(("clientEmail", req.customer_email))
        if req.customer_phone:
            fields.append(("clientPhone", req.customer_phone))
        step = ShopperStep(StepKind.FORM_POST, url=self.url("/pay"), fields=tuple(fields))
        # No create call and no idempotency header: orderReference (our payment_ref) is the key.
        return GatewayResult(PaymentStatus.PENDING, req.payment_ref, req.amount, shopper_step=step)

    async def _api(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.send("POST", self.api_url, json={**body, "apiVersion": 1})
        return self.json_of(response)

    def _result(self, data: Mapping[str, Any]) -> GatewayResult:
        name = str(data.get("transactionStatus", ""))
        status = _STATUSES.get(name, PaymentStatus.PENDING)
        amount = None
        if data.get("amount") is not None and data.get("currency"):
            amount = Money.from_decimal(str(data["amount"]), str(data["currency"]))
        refunded = None  # CHECK_STATUS names the sum refunded so far [unverified: field name from the docs' list]
        if data.get("refundAmount") not in (None, "") and data.get("currency"):
            refunded = Money.from_decimal(str(data["refundAmount"]), str(data["currency"]))
        error = ErrorCode.CARD_DECLINED if status is PaymentStatus.FAILED else None
        return GatewayResult(
            status, str(data.get("orderReference") or ""), amount, refunded=refunded, error_code=error, raw=dict(data)
        )

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        ref = payment_ref or provider_payment_id or ""
        account = self.config["merchant_account"]
        data = await self._api(
            {
                "transactionType": "CHECK_STATUS",
                "merchantAccount": account,
                "orderReference": ref,
                "merchantSignature": self._sign([account, ref]),
            }
        )
        if "signature" in str(data.get("reason", "")).lower():
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=str(data.get("reason")))
        return self._result(data)

    async def refund(self, req: RefundRequest) -> RefundResult:
        """REFUND has no idempotency key: after GatewayUnavailable, check the status before retrying."""
        ref, account = req.payment_ref or req.provider_payment_id, self.config["merchant_account"]
        amount, currency = req.amount.format(), req.amount.currency
        data = await self._api(
            {
                "transactionType": "REFUND",
                "merchantAccount": account,
                "orderReference": ref,
                "amount": amount,
                "currency": currency,
                "comment": req.reason or "Refund",
                "merchantSignature": self._sign([account, ref, amount, currency]),
            }
        )
        name = str(data.get("transactionStatus", ""))
        if name not in _REFUND_STATUSES:
            raise GatewayDeclined(
                code=ErrorCode.INVALID_REQUEST, detail=f"{data.get('reasonCode')}: {data.get('reason')}"
            )
        return RefundResult(
            f"{ref}:{req.idempotency_key}",
            "pending" if name == "RefundInProcessing" else "succeeded",
            req.amount,
            data,
        )

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        """serviceUrl callback: raw JSON in the body, not a form."""
        try:  # numbers kept as their literal text: the signature covers what was sent
            data = json.loads(raw_body, parse_float=str, parse_int=str)
        except (ValueError, UnicodeDecodeError):
            raise SignatureInvalid(N_("The notification body is not valid JSON.")) from None
        if not isinstance(data, dict) or data.get("merchantAccount") != self.config["merchant_account"]:
            raise SignatureInvalid()
        given = str(data.get("merchantSignature", ""))
        values = [php_string(data.get(name)) for name in CALLBACK_FIELDS]
        candidates = (self._sign([*values[:2], amount, *values[3:]]) for amount in _number_forms(values[2]))
        if not given or not any(safe_equal(candidate, given.lower()) for candidate in candidates):
            raise SignatureInvalid()
        result = self._result(data)
        name = str(data.get("transactionStatus"))
        kind = NotificationKind.REFUND if name in _REFUND_STATUSES else NotificationKind.PAYMENT
        event_id = f"{data.get('orderReference')}:{name}:{given[:12]}"
        # A refund callback names no refund, and its signature does not cover a refunded sum: the pipeline
        # asks CHECK_STATUS for the refunded total, which tells a cabinet refund from ours.
        refund = kind is NotificationKind.REFUND
        return Notification(
            not refund,
            event_id,
            kind,
            result.status,
            result.provider_payment_id,
            result.provider_payment_id or None,
            None if refund else result.amount,
            data,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        """The signed ``accept`` WayForPay waits for; without it the callback is repeated."""
        ref, now = str(notification.payment_ref or ""), str(int(self.clock().timestamp()))
        body = {
            "orderReference": ref,
            "status": "accept",
            "time": int(now),
            "signature": self._sign([ref, "accept", now]),
        }
        return 200, "application/json", json.dumps(body).encode()

    async def check_connection(self) -> None:
        """CHECK_STATUS for an order that cannot exist: a signature complaint means a wrong key."""
        if not self.config["merchant_domain"] or "/" in self.config["merchant_domain"]:
            raise ConfigInvalid({"merchant_domain": N_("Enter the bare domain, e.g. shop.example.com.")})
        await self.fetch_status(payment_ref="autooffice-connection-check")
