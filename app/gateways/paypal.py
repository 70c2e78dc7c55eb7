"""PayPal Orders v2: OAuth2, PayPal-Request-Id idempotency, capture after approval, RSA-signed webhooks."""

from __future__ import annotations

import base64
import binascii
import ssl
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

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
    lower_headers,
    parse_json_object,
)

# Order and capture status enums are [unverified] (from memory of the API reference, per our notes).
_ORDER = {"APPROVED": PaymentStatus.WAITING_CAPTURE, "VOIDED": PaymentStatus.CANCELED}
_S = PaymentStatus
# fmt: off
_CAPTURE = {"COMPLETED": _S.SUCCEEDED, "PENDING": _S.PENDING, "DECLINED": _S.FAILED, "FAILED": _S.FAILED,
            "REFUNDED": _S.REFUNDED, "PARTIALLY_REFUNDED": _S.PARTIALLY_REFUNDED}
_EVENTS = {"CHECKOUT.ORDER.APPROVED": _S.WAITING_CAPTURE, "CHECKOUT.ORDER.COMPLETED": _S.SUCCEEDED,
           "PAYMENT.CAPTURE.COMPLETED": _S.SUCCEEDED, "PAYMENT.CAPTURE.PENDING": _S.PENDING,
           "PAYMENT.CAPTURE.DENIED": _S.FAILED, "PAYMENT.CAPTURE.DECLINED": _S.FAILED}
# fmt: on
_REFUND_EVENTS = {"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"}
_LOCALES = {"ru": "ru-RU", "uk": "uk-UA", "en": "en-US"}


@cache
def system_roots() -> tuple[x509.Certificate, ...]:
    """The OS trust store; PayPal's certificate chain must end in one of these."""
    cafile = ssl.get_default_verify_paths().cafile
    if not cafile:
        return ()
    with warnings.catch_warnings():  # a few legacy roots carry non-RFC serials; they still load
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(Path(cafile).read_bytes()))


@cache
def bundled_intermediates() -> tuple[x509.Certificate, ...]:
    """The intermediate of PayPal's signing chain, bundled as PayPal's SDK bundles it (provenance in the file),
    so a certificate URL that serves the leaf alone still verifies up to a root of the trust store."""
    return tuple(
        x509.load_pem_x509_certificates((Path(__file__).parent / "certs/paypal_intermediates.pem").read_bytes())
    )


def check_certificate(pem: bytes, *, now: datetime, roots: Sequence[x509.Certificate] | None) -> x509.Certificate:
    """PayPal-Python-SDK ``_verify_certificate``: CN ends with .paypal.com, not expired, chain verifies.
    The chain is what the URL served plus the bundled intermediate, as the SDK's certificate store holds it.
    ``roots=None`` skips only the chain check (the published vector's leaf came without its chain)."""
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SignatureInvalid(detail="certificate is not PEM") from None
    leaf = chain[0]
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    if not common_name.endswith(".paypal.com"):
        raise SignatureInvalid(detail=f"certificate CN {common_name!r} is not PayPal's")
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise SignatureInvalid(detail="certificate expired or not yet valid")
    if roots is not None:
        try:
            verifier = PolicyBuilder().store(Store(list(roots))).time(now)
            verifier.build_server_verifier(x509.DNSName(common_name)).verify(
                leaf, [*chain[1:], *bundled_intermediates()]
            )
        except (VerificationError, ValueError) as exc:
            raise SignatureInvalid(detail=f"certificate chain: {exc}") from None
    return leaf


def verify_transmission(
    raw_body: bytes, headers: Mapping[str, str], *, webhook_id: str, certificate: x509.Certificate
) -> None:
    """RSA PKCS#1 v1.5 / SHA-256 over ``transmission id|time|webhook_id|crc32(raw body)``."""
    h = lower_headers(headers)
    crc = zlib.crc32(raw_body) & 0xFFFFFFFF
    message = f"{h.get('paypal-transmission-id')}|{h.get('paypal-transmission-time')}|{webhook_id}|{crc}"
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid(detail="certificate key is not RSA")
    try:
        signature = base64.b64decode(h.get("paypal-transmission-sig", ""), validate=True)
        key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureInvalid() from None


# Where PayPal's webhook signing certificates live (PAYPAL-CERT-URL); any other host is refused.
CERT_HOSTS = frozenset({"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"})
# PayPal takes these without decimals (its currency codes page), whatever ISO 4217 says of HUF and TWD.
WHOLE_UNITS = frozenset({"HUF", "JPY", "TWD"})


def paypal_value(money: Money) -> str:
    """The amount as PayPal takes it: whole units for HUF, JPY and TWD, else the currency's own digits.

    Raises:
        RequestInvalid: a HUF or TWD amount with a fractional part, which PayPal refuses.
    """
    if money.currency not in WHOLE_UNITS:
        return money.format()
    value = money.to_decimal()
    if value != value.to_integral_value():
        raise RequestInvalid(detail=f"PayPal takes {money.currency} in whole units only")
    return f"{value:.0f}"


class PayPalGateway(Gateway):
    code = "paypal"
    display_name = N_("PayPal")
    capabilities = frozenset(
        {Capability.REFUND, Capability.PARTIAL_REFUND, Capability.STATUS_QUERY, Capability.CAPTURE}
    )
    config_fields = (
        ConfigField("client_id", N_("Client ID")),
        ConfigField("client_secret", N_("Secret"), secret=True),
        ConfigField("webhook_id", N_("Webhook ID"), help=N_("The ID PayPal shows for this site's webhook.")),
    )
    live_url = "https://api-m.paypal.com"
    test_url = "https://api-m.sandbox.paypal.com"
    trust_roots: Sequence[x509.Certificate] | None = None  # None: the OS trust store
    _cert_cache: ClassVar[dict[str, bytes]] = {}  # cert URL -> PEM; certificates are public, safe to share
    _token: tuple[str, float] | None = None

    async def _access_token(self) -> str:
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        auth = httpx.BasicAuth(self.config["client_id"], self.config["client_secret"])
        response = await self.send(
            "POST", self.url("/v1/oauth2/token"), data={"grant_type": "client_credentials"}, auth=auth
        )
        if response.status_code in (400, 401):
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=f"oauth2/token HTTP {response.status_code}")
        data = self.json_of(response)
        self._token = (str(data["access_token"]), time.monotonic() + int(data.get("expires_in", 300)) - 60)
        return self._token[0]

    async def _call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, request_id: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {await self._access_token()}", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        response = await self.send(method, self.url(path), json=body, headers=headers)
        data = self.json_of(response)
        if response.status_code < 300:
            return data
        issues = ",".join(str(d.get("issue")) for d in data.get("details") or [])
        detail = f"HTTP {response.status_code} {data.get('name')}: {issues or data.get('message')}"
        if response.status_code == 401:
            raise ConfigInvalid(code=ErrorCode.INVALID_CREDENTIALS, detail=detail)
        if "REFUND_AMOUNT_EXCEEDED" in issues or "CAPTURE_FULLY_REFUNDED" in issues:
            raise GatewayDeclined(
                code=ErrorCode.REFUND_EXCEEDS_PAYMENT,
                detail=detail,
            )
        code = ErrorCode.NOT_FOUND if response.status_code == 404 else ErrorCode.INVALID_REQUEST
        raise GatewayDeclined(code=code, detail=detail)

    @staticmethod
    def _amount(data: Mapping[str, Any] | None) -> Money | None:
        if not data or "value" not in data:  # v1 events (PAYMENT.SALE.*) write amounts otherwise: not ours
            return None
        return Money.from_decimal(str(data["value"]), str(data["currency_code"]))

    def _result(self, order: Mapping[str, Any]) -> GatewayResult:
        unit = (order.get("purchase_units") or [{}])[0]
        captures = (unit.get("payments") or {}).get("captures") or []
        status = _ORDER.get(str(order.get("status")), PaymentStatus.PENDING)
        if order.get("status") == "COMPLETED" and captures:
            status = _CAPTURE.get(str(captures[0].get("status")), PaymentStatus.PENDING)
        link = next((x["href"] for x in order.get("links") or [] if x.get("rel") in ("payer-action", "approve")), None)
        step = ShopperStep(StepKind.REDIRECT, url=link) if link and status is PaymentStatus.PENDING else None
        return GatewayResult(
            status, order.get("id"), self._amount(unit.get("amount")), shopper_step=step, raw=dict(order)
        )

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        ref, amount = req.payment_ref, {"currency_code": req.amount.currency, "value": paypal_value(req.amount)}
        unit = dict(reference_id=ref, custom_id=ref, invoice_id=ref, description=req.description[:127], amount=amount)
        context = dict(
            return_url=req.return_url,
            cancel_url=req.fail_url or req.return_url,
            user_action="PAY_NOW",
            shipping_preference="NO_SHIPPING",
            locale=_LOCALES.get(req.locale, "en-US"),
        )
        body = {
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {"paypal": {"experience_context": context}},
        }
        order = await self._call("POST", "/v2/checkout/orders", body, request_id=req.idempotency_key)
        return self._result(order)

    async def capture(
        self, provider_payment_id: str, *, idempotency_key: str, amount: Money | None = None
    ) -> GatewayResult:
        """Take the money of an APPROVED order (PayPal's flow always needs this call)."""
        order = await self._call(
            "POST", f"/v2/checkout/orders/{provider_payment_id}/capture", {}, request_id=idempotency_key
        )
        return self._result(order)

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        if not provider_payment_id:
            raise RequestInvalid(detail="PayPal needs the order id")
        return self._result(await self._call("GET", f"/v2/checkout/orders/{provider_payment_id}"))

    async def refund(self, req: RefundRequest) -> RefundResult:
        order = (await self.fetch_status(req.provider_payment_id)).raw
        captures = ((order.get("purchase_units") or [{}])[0].get("payments") or {}).get("captures") or []
        if not captures:
            raise GatewayDeclined(code=ErrorCode.NOT_REFUNDABLE)
        body = {"amount": {"value": paypal_value(req.amount), "currency_code": req.amount.currency}}
        refund = await self._call(
            "POST", f"/v2/payments/captures/{captures[0]['id']}/refund", body, request_id=req.idempotency_key
        )
        if refund.get("status") in ("FAILED", "CANCELLED"):
            raise GatewayDeclined(detail=f"refund {refund.get('id')}: {refund.get('status')}")
        status = "succeeded" if refund.get("status") == "COMPLETED" else "pending"
        return RefundResult(str(refund["id"]), status, req.amount, refund)

    def _cert_url(self, headers: Mapping[str, str]) -> str:
        url = headers.get("paypal-cert-url", "")
        parts, api = urlsplit(url), urlsplit(self.base_url)
        paypal_host = (
            parts.scheme == "https"
            and parts.netloc in CERT_HOSTS  # no user info, no port: exactly PayPal's API hosts
            and parts.path.startswith("/v1/notifications/certs/")
        )
        if not (paypal_host or (parts.scheme, parts.netloc) == (api.scheme, api.netloc)):
            raise SignatureInvalid(detail=f"certificate URL host {parts.hostname!r} is not PayPal's")
        return url

    async def receive_notification(
        self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> Notification:
        """Fetches (and caches) the signing certificate, then verifies offline."""
        url = self._cert_url(lower_headers(headers))
        if url not in self._cert_cache:
            response = await self.send("GET", url)
            if response.status_code != 200:
                raise SignatureInvalid(detail=f"certificate fetch HTTP {response.status_code}")
            self._cert_cache[url] = response.content
        n = self.parse_notification(raw_body, headers, query)
        if n.kind is NotificationKind.REFUND and not (n.provider_payment_id or n.payment_ref):
            # A refund names its capture only by its "up" link: the capture names our order and reference.
            links = (n.raw.get("resource") or {}).get("links") or []
            up = next((str(link.get("href", "")) for link in links if link.get("rel") == "up"), "")
            capture_id = up.rsplit("/captures/", 1)[-1] if "/captures/" in up else ""
            if capture_id.isalnum():
                capture = await self._call("GET", f"/v2/payments/captures/{capture_id}")
                related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
                n = replace(n, provider_payment_id=related.get("order_id"), payment_ref=capture.get("custom_id"))
        return n

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        h = lower_headers(headers)
        pem = self._cert_cache.get(self._cert_url(h))
        if pem is None:
            raise SignatureInvalid(detail="certificate not loaded: call receive_notification")
        if h.get("paypal-auth-algo", "SHA256withRSA") != "SHA256withRSA":
            raise SignatureInvalid(detail="unsupported PAYPAL-AUTH-ALGO")
        roots = self.trust_roots if self.trust_roots is not None else system_roots()
        leaf = check_certificate(pem, now=self.clock(), roots=roots)
        verify_transmission(raw_body, h, webhook_id=self.config["webhook_id"], certificate=leaf)
        return self._notification(parse_json_object(raw_body))

    def _notification(self, event: Mapping[str, Any]) -> Notification:
        event_type, resource = str(event.get("event_type")), event.get("resource") or {}
        if event_type.startswith("CHECKOUT.ORDER."):  # the resource is the order
            unit = (resource.get("purchase_units") or [{}])[0]
            kind, order_id, amount = NotificationKind.PAYMENT, resource.get("id"), unit.get("amount")
            ref = unit.get("custom_id")
        else:  # the resource is a capture or a refund
            kind = NotificationKind.PAYMENT if event_type in _EVENTS else NotificationKind.INFO
            kind = NotificationKind.REFUND if event_type in _REFUND_EVENTS else kind
            related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
            order_id, amount, ref = related.get("order_id"), resource.get("amount"), resource.get("custom_id")
        status = _EVENTS.get(event_type)
        if event_type == "CHECKOUT.ORDER.COMPLETED":  # completed order, but its capture may still be PENDING
            captures = ((unit.get("payments") or {}).get("captures")) or []
            status = _CAPTURE.get(str(captures[0].get("status")), _S.PENDING) if captures else _S.PENDING
        refund_id = None
        if kind is NotificationKind.REFUND:  # the resource is the refund: its id names it, ours or the cabinet's
            refund_id = str(resource.get("id") or "") or None
            kind = kind if resource.get("status") in (None, "COMPLETED") else NotificationKind.INFO
        return Notification(
            True, str(event.get("id")), kind, status, order_id, ref, self._amount(amount), event, refund_id=refund_id
        )

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        return 200, "text/plain", b""

    async def check_connection(self) -> None:
        await self._access_token()
