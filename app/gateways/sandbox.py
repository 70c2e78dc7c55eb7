"""Sandbox gateway: a demo "provider" whose hosted page our own app serves; no network, HMAC-signed events."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from app.gateways.base import (
    N_,
    Capability,
    ConfigField,
    ConfigInvalid,
    ErrorCode,
    Gateway,
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
    lower_headers,
    parse_json_object,
    safe_equal,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
PAGE_PATH = "/sandbox/pay"
_PAGE_FIELDS = ("id", "ref", "amount", "currency", "description", "return_url", "notify_url", "locale")


def sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def outcome_for(amount: Money) -> PaymentStatus:
    """Magic amounts keep demo checkouts deterministic: ...00 succeeds, ...05 is declined."""
    ending = amount.minor % 100
    if ending == 0:
        return PaymentStatus.SUCCEEDED
    if ending == 5:
        return PaymentStatus.FAILED
    raise RequestInvalid(
        N_("The sandbox accepts only amounts ending in 00 (success) or 05 (decline)."),
        code=ErrorCode.INVALID_AMOUNT,
    )


@dataclass(frozen=True, slots=True)
class SandboxPage:
    """The verified parameters of the hosted page URL, for the app's page handler."""

    provider_payment_id: str
    payment_ref: str
    amount: Money
    description: str
    return_url: str
    notify_url: str
    locale: str
    outcome: PaymentStatus


class SandboxGateway(Gateway):
    code = "sandbox"
    display_name = N_("Sandbox (demo payments)")
    capabilities = frozenset({Capability.REFUND, Capability.PARTIAL_REFUND})
    config_fields = (
        ConfigField(
            "secret",
            N_("Notification secret"),
            secret=True,
            help=N_("Any long random string; it signs the sandbox notifications."),
        ),
    )

    def _page_signature(self, params: Mapping[str, str]) -> str:
        canonical = "\n".join(f"{name}={params.get(name, '')}" for name in _PAGE_FIELDS)
        return sign(self.config["secret"], canonical.encode())

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        if not self.base_url:
            raise ConfigInvalid({"__all__": N_("The sandbox needs the public address of this site.")})
        outcome_for(req.amount)
        # Derived from the idempotency key so a retried create returns the same payment.
        payment_id = "sbx_" + sign(self.config["secret"], req.idempotency_key.encode())[:24]
        params = {
            "id": payment_id,
            "ref": req.payment_ref,
            "amount": str(req.amount.minor),
            "currency": req.amount.currency,
            "description": req.description,
            "return_url": req.return_url,
            "notify_url": req.notify_url,
            "locale": req.locale,
        }
        params["sig"] = self._page_signature(params)
        step = ShopperStep(StepKind.REDIRECT, url=f"{self.base_url}{PAGE_PATH}?{urlencode(params)}")
        return GatewayResult(PaymentStatus.PENDING, payment_id, req.amount, shopper_step=step)

    def verify_page(self, query: Mapping[str, str]) -> SandboxPage:
        """Check the hosted page's query string (our own redirect) before showing it."""
        if not safe_equal(self._page_signature(query), query.get("sig", "")):
            raise SignatureInvalid()
        try:
            amount = Money(int(query["amount"]), query["currency"])
        except (KeyError, ValueError, TypeError):
            raise SignatureInvalid() from None
        return SandboxPage(
            query["id"],
            query["ref"],
            amount,
            query.get("description", ""),
            query["return_url"],
            query["notify_url"],
            query.get("locale", "ru"),
            outcome_for(amount),
        )

    def build_notification(
        self,
        *,
        provider_payment_id: str,
        payment_ref: str,
        amount: Money,
        status: PaymentStatus,
        kind: NotificationKind = NotificationKind.PAYMENT,
        event_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The signed body and headers the sandbox "provider" posts to the notify URL."""
        body = json.dumps(
            {
                "event_id": event_id or f"evt_{uuid.uuid4().hex}",
                "type": str(kind),
                "payment_id": provider_payment_id,
                "payment_ref": payment_ref,
                "status": str(status),
                "amount": amount.minor,
                "currency": amount.currency,
            },
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.config["secret"], body)}
        return body, headers

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        given = lower_headers(headers).get(SIGNATURE_HEADER.lower(), "")
        if not given or not safe_equal(sign(self.config["secret"], raw_body), given.lower()):
            raise SignatureInvalid()
        data: dict[str, Any] = parse_json_object(raw_body)
        try:
            amount = Money(int(data["amount"]), str(data["currency"]))
            kind = NotificationKind(data["type"])
            status = PaymentStatus(data["status"])
        except (KeyError, ValueError, TypeError):
            raise SignatureInvalid(N_("The notification body is not valid.")) from None
        return Notification(
            True,
            str(data["event_id"]),
            kind,
            status,
            str(data["payment_id"]),
            str(data.get("payment_ref") or "") or None,
            amount,
            data,
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"ok":true}'

    async def refund(self, req: RefundRequest) -> RefundResult:
        # The sandbox keeps no state: the app's refund ledger is what refuses an over-refund.
        refund_id = "sbr_" + sign(self.config["secret"], req.idempotency_key.encode())[:24]
        return RefundResult(refund_id, "succeeded", req.amount)

    async def check_connection(self) -> None:
        if len(self.config["secret"]) < 16:
            raise ConfigInvalid({"secret": N_("Use at least 16 characters.")})
