"""Robokassa: signed form POST to the hosted page, ResultURL notification, OpStateExt, JWT refund API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

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
    NotSupported,
    PaymentRequest,
    PaymentStatus,
    Receipt,
    RefundRequest,
    RefundResult,
    RequestInvalid,
    ShopperStep,
    SignatureInvalid,
    StepKind,
    parse_form,
    safe_equal,
)

ALGORITHMS = ("md5", "sha1", "sha256", "sha384", "sha512")
SERVICES_URL = "https://services.robokassa.ru"
# OpStateExt State/Code values as public integrations document them [unverified against the official page].
_STATES = {
    5: PaymentStatus.PENDING,
    10: PaymentStatus.CANCELED,
    20: PaymentStatus.WAITING_CAPTURE,
    50: PaymentStatus.PENDING,
    60: PaymentStatus.REFUNDED,
    80: PaymentStatus.PENDING,
    100: PaymentStatus.SUCCEEDED,
}
_MAX_INV_ID = 2**31 - 1


def signature(parts: Sequence[str], algorithm: str = "md5") -> str:
    """Lower-case hex digest of the ``:``-joined parts (compare case-insensitively: some send upper case)."""
    return hashlib.new(algorithm, ":".join(parts).encode()).hexdigest()


def shp_parts(params: Mapping[str, str]) -> list[str]:
    """Custom ``Shp_*`` (legacy ``shp*``) params as ``key=value`` sorted by key; signed after the password."""
    return [f"{k}={params[k]}" for k in sorted(k for k in params if k.lower().startswith("shp"))]


def init_signature_parts(
    login: str, out_sum: str, inv_id: str, receipt: str | None, password1: str, shp: Mapping[str, str]
) -> list[str]:
    return [login, out_sum, inv_id, *([receipt] if receipt else []), password1, *shp_parts(shp)]


def result_signature_parts(out_sum: str, inv_id: str, password: str, shp: Mapping[str, str]) -> list[str]:
    """ResultURL (Password #2), SuccessURL (Password #1): ``OutSum`` exactly as received (500.000000)."""
    return [out_sum, inv_id, password, *shp_parts(shp)]


def _quantity(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def receipt_param(receipt: Receipt) -> str:
    """The Receipt JSON URL-encoded once: the string that is signed and put into the form field."""
    # float() keeps the JSON a number; its repr is the shortest round-trip, so the digits stay exact.
    body = {
        "items": [
            {
                "name": item.name[:128],
                "quantity": _quantity(item.quantity),
                "sum": float(item.amount.to_decimal()),
                "payment_method": item.payment_mode,
                "payment_object": item.payment_subject,
                "tax": item.vat_code,
            }
            for item in receipt.items
        ]
    }
    if receipt.taxation:
        body = {"sno": receipt.taxation, **body}
    return quote(json.dumps(body, ensure_ascii=False, separators=(",", ":")), safe="")


def jwt_hs256(payload: Mapping[str, Any], key: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


class RobokassaGateway(Gateway):
    code = "robokassa"
    display_name = N_("Robokassa")
    capabilities = frozenset(
        {Capability.REFUND, Capability.PARTIAL_REFUND, Capability.RECEIPTS, Capability.STATUS_QUERY}
    )
    currencies = frozenset({"RUB"})
    config_fields = (
        ConfigField("merchant_login", N_("Shop identifier (MerchantLogin)")),
        ConfigField("password1", N_("Password #1"), secret=True),
        ConfigField("password2", N_("Password #2"), secret=True),
        ConfigField("password3", N_("Password #3 (refund API)"), secret=True, required=False),
        ConfigField("hash_algorithm", N_("Hash algorithm"), choices=ALGORITHMS, default="md5", required=False),
    )
    live_url = "https://auth.robokassa.ru"

    @property
    def services_url(self) -> str:
        return SERVICES_URL if self.base_url == self.live_url else self.base_url

    def _sign(self, parts: Sequence[str]) -> str:
        return signature(parts, self.config["hash_algorithm"])

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        if not req.payment_ref.isdigit() or not 0 < int(req.payment_ref) <= _MAX_INV_ID:
            raise RequestInvalid(detail="Robokassa InvId must be a positive 32-bit integer")
        if req.amount.currency != "RUB":
            raise RequestInvalid(code=ErrorCode.INVALID_AMOUNT)
        out_sum = req.amount.format()
        receipt = receipt_param(req.receipt) if req.receipt else None
        login = self.config["merchant_login"]
        fields = [
            ("MerchantLogin", login),
            ("OutSum", out_sum),
            ("InvId", req.payment_ref),
            ("Description", req.description[:100]),
            ("Culture", "ru" if req.locale == "ru" else "en"),
            ("Encoding", "utf-8"),
        ]
        if req.customer_email:
            fields.append(("Email", req.customer_email))
        if receipt:
            fields.append(("Receipt", receipt))  # a form POST encodes it once more, as Robokassa expects
        if self.test_mode:
            fields.append(("IsTest", "1"))
        # SuccessUrl2/FailUrl2 are not sent: their place in the signature is [unverified]; the shopper
        # returns to the SuccessURL/FailURL set in the Robokassa cabinet.
        parts = init_signature_parts(login, out_sum, req.payment_ref, receipt, self.config["password1"], {})
        fields.append(("SignatureValue", self._sign(parts)))
        step = ShopperStep(StepKind.FORM_POST, url=f"{self.base_url}/Merchant/Index.aspx", fields=tuple(fields))
        return GatewayResult(PaymentStatus.PENDING, req.payment_ref, req.amount, shopper_step=step)

    def _verified_params(self, raw_body: bytes, query: Mapping[str, str], password: str) -> dict[str, str]:
        params = {**query, **(parse_form(raw_body) if raw_body else {})}
        out_sum, inv_id = params.get("OutSum", ""), params.get("InvId", "")
        given = params.get("SignatureValue", "")
        expected = self._sign(result_signature_parts(out_sum, inv_id, password, params))
        if not (out_sum and inv_id and given) or not safe_equal(expected, given.lower()):
            raise SignatureInvalid()
        return params

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        """ResultURL (POST form or GET query), signed with Password #2; a valid one means paid."""
        params = self._verified_params(raw_body, query, self.config["password2"])
        try:
            amount = Money.from_decimal(params["OutSum"], "RUB")
        except ValueError:
            raise SignatureInvalid(N_("The notification body is not valid.")) from None
        inv_id = params["InvId"]
        return Notification(
            True,
            f"{inv_id}:paid",
            NotificationKind.PAYMENT,
            PaymentStatus.SUCCEEDED,
            inv_id,
            inv_id,
            amount,
            params,
        )

    def verify_return(self, query: Mapping[str, str]) -> str:
        """SuccessURL (browser return, Password #1): the InvId. It proves nothing about payment."""
        return self._verified_params(b"", query, self.config["password1"])["InvId"]

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "text/plain", f"OK{notification.provider_payment_id}".encode()

    async def _op_state(self, inv_id: str) -> ElementTree.Element:
        login = self.config["merchant_login"]
        params = {
            "MerchantLogin": login,
            "InvoiceID": inv_id,
            "Signature": self._sign([login, inv_id, self.config["password2"]]),
        }
        response = await self.send("GET", self.url("/Merchant/WebService/Service.asmx/OpStateExt"), params=params)
        try:
            # Stdlib ElementTree resolves no external entities and Python 3.11 bundles an expat that
            # limits entity expansion; the body comes from the configured API host over TLS.
            root = ElementTree.fromstring(response.content)  # noqa: S314
        except ElementTree.ParseError:
            raise GatewayUnavailable(detail=f"OpStateExt HTTP {response.status_code}: not XML") from None
        for element in root.iter():  # drop the XML namespace so lookups stay readable
            element.tag = element.tag.rpartition("}")[2]
        code = root.findtext("Result/Code", "")
        if code in ("1", "2"):
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=f"OpStateExt result {code}")
        if code not in ("0", "3"):
            raise GatewayUnavailable(detail=f"OpStateExt result {code}")
        return root

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        inv_id = provider_payment_id or payment_ref or ""
        root = await self._op_state(inv_id)
        if root.findtext("Result/Code") == "3":  # no such operation yet: the shopper has not paid
            return GatewayResult(PaymentStatus.PENDING, inv_id)
        state = _STATES.get(int(root.findtext("State/Code", "0") or 0), PaymentStatus.PENDING)
        out_sum = root.findtext("Info/OutSum")
        amount = Money.from_decimal(out_sum, "RUB") if out_sum else None
        raw = {
            "state": root.findtext("State/Code"),
            "op_key": root.findtext("Info/OpKey"),
            "out_sum": out_sum,
        }
        return GatewayResult(state, inv_id, amount, raw=raw)

    async def refund(self, req: RefundRequest) -> RefundResult:
        """Refund API v2. It takes no idempotency key: after GatewayUnavailable check the cabinet first."""
        if not self.config["password3"]:
            raise NotSupported(N_("Refunds need Password #3 from the Robokassa cabinet."))
        status = await self.fetch_status(req.provider_payment_id)
        op_key = status.raw.get("op_key")
        if status.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED) or not op_key:
            raise GatewayDeclined(code=ErrorCode.NOT_REFUNDABLE)
        # RefundSum is always sent (the API reads its absence as "refund everything").
        payload: dict[str, Any] = {"OpKey": op_key, "RefundSum": float(req.amount.to_decimal())}
        if req.receipt:
            payload["InvoiceItems"] = [
                {
                    "Name": i.name[:128],
                    "Quantity": _quantity(i.quantity),
                    "Cost": float(i.price.to_decimal()),
                    "Tax": i.vat_code,
                    "PaymentMethod": i.payment_mode,
                    "PaymentObject": i.payment_subject,
                }
                for i in req.receipt.items
            ]
        token = jwt_hs256(payload, self.config["password3"])
        response = await self.send(
            "POST",
            f"{self.services_url}/RefundService/Refund/Create",
            content=token,
            headers={"Content-Type": "text/plain"},
        )
        data = self.json_of(response)
        if not data.get("success") or not data.get("requestId"):
            message = str(data.get("message"))
            if message == "NotEnoughOperationFunds":
                raise GatewayDeclined(
                    code=ErrorCode.REFUND_EXCEEDS_PAYMENT,
                    detail=message,
                )
            raise GatewayDeclined(code=ErrorCode.INVALID_REQUEST, detail=message)
        return await self.fetch_refund(str(data["requestId"]), req.amount)

    async def fetch_refund(self, request_id: str, amount: Money) -> RefundResult:
        response = await self.send(
            "GET", f"{self.services_url}/RefundService/Refund/GetState", params={"id": request_id}
        )
        data = self.json_of(response)
        label = str(data.get("label", ""))
        if label == "canceled":
            raise GatewayDeclined(detail=f"refund {request_id} canceled")
        return RefundResult(request_id, "succeeded" if label == "finished" else "pending", amount, data)

    async def check_connection(self) -> None:
        """OpStateExt for an id that cannot exist: "not found" proves login and Password #2 are right."""
        await self._op_state("0")
