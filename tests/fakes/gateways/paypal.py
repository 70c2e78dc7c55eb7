"""Fake PayPal REST API from the protocol notes: OAuth2, Orders v2, captures, refunds, RSA-signed webhooks."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response

CERT_CN = "messageverificationcerts.sandbox.paypal.com"


def _issue(name: str, status: int = 422) -> Response:
    return json_response(
        {
            "name": "UNPROCESSABLE_ENTITY",
            "message": "The requested action could not be performed",
            "details": [{"issue": name}],
        },
        status,
    )


def make_signing_pair() -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey]:
    """A throwaway root CA and a PayPal-named leaf it signs (the real leaf chains to a public root)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake PayPal Test Root")])
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_CN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(CERT_CN)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca, leaf, key


class FakePayPal(FakeServer):
    def __init__(self, client_id: str = "client", secret: str = "secret", webhook_id: str = "WH-FAKE-1") -> None:
        super().__init__()
        self.client_id, self.secret, self.webhook_id = client_id, secret, webhook_id
        self.root, self.leaf, self._key = make_signing_pair()
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunded: dict[str, Decimal] = {}
        self.refunds: list[dict[str, Any]] = []  # refund resources, ours and the dashboard's
        self.by_request_id: dict[str, Response] = {}
        self._ids = itertools.count(1)

    def route(self, req: Request) -> Response:
        if req.path == "/v1/oauth2/token":
            if (
                req.basic_auth() != (self.client_id, self.secret)
                or req.form().get("grant_type") != "client_credentials"
            ):
                return json_response(
                    {"error": "invalid_client", "error_description": "Client Authentication failed"}, 401
                )
            token = f"A21AA{uuid.uuid4().hex}"
            self.tokens.add(token)
            return json_response({"access_token": token, "token_type": "Bearer", "expires_in": 32400})
        if req.path == "/certs/paypal.pem":
            return Response(200, self.leaf.public_bytes(serialization.Encoding.PEM), "application/x-pem-file")
        if req.bearer() not in self.tokens:
            return json_response({"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"}, 401)
        if req.method == "GET" and req.path.startswith("/v2/checkout/orders/"):
            order = self.orders.get(req.path.rsplit("/", 1)[1])
            return json_response(order) if order else json_response({"name": "RESOURCE_NOT_FOUND"}, 404)
        if req.method == "GET" and req.path.startswith("/v2/payments/captures/"):
            capture_id = req.path.rsplit("/", 1)[1]
            found = [c for o in self.orders.values() for c in self._captures(o) if c["id"] == capture_id]
            return json_response(found[0]) if found else json_response({"name": "RESOURCE_NOT_FOUND"}, 404)
        request_id = req.headers.get("paypal-request-id")
        if request_id in self.by_request_id:
            return self.by_request_id[request_id]
        resp = self._post(req.path, req.json() if req.body else {})
        if request_id:
            self.by_request_id[request_id] = resp
        return resp

    def _post(self, path: str, body: dict[str, Any]) -> Response:
        parts = path.strip("/").split("/")
        if path == "/v2/checkout/orders":
            return self._create(body)
        if parts[:3] == ["v2", "checkout", "orders"] and parts[-1] == "capture":
            return self._capture(parts[3])
        if parts[:3] == ["v2", "payments", "captures"] and parts[-1] == "refund":
            return self._refund(parts[3], body)
        return json_response({"name": "RESOURCE_NOT_FOUND"}, 404)

    def _create(self, body: dict[str, Any]) -> Response:
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            return _issue("INVALID_PARAMETER_VALUE", 400)
        for unit in body.get("purchase_units") or []:  # PayPal's currency codes page: no decimals for these
            if unit["amount"]["currency_code"] in ("HUF", "JPY", "TWD") and "." in unit["amount"]["value"]:
                return _issue("DECIMALS_NOT_SUPPORTED")
        order_id = f"5O190127TN{next(self._ids):07d}"
        self.orders[order_id] = {
            "id": order_id,
            "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED",
            "purchase_units": body["purchase_units"],
            "payment_source": {"paypal": {}},
            "links": [
                {"href": f"https://api-m.sandbox.paypal.com/v2/checkout/orders/{order_id}", "rel": "self"},
                {
                    "href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                    "rel": "payer-action",
                },
            ],
        }
        return json_response(self.orders[order_id], 200)

    def _capture(self, order_id: str) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return json_response({"name": "RESOURCE_NOT_FOUND"}, 404)
        if order["status"] == "COMPLETED":
            return _issue("ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return _issue("ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        capture = {
            "id": f"3C679366HH{next(self._ids):07d}",
            "status": "COMPLETED",
            "amount": unit["amount"],
            "custom_id": unit.get("custom_id"),
            "supplementary_data": {"related_ids": {"order_id": order_id}},
        }
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        return json_response(order, 201)

    @staticmethod
    def _captures(order: dict[str, Any]) -> list[dict[str, Any]]:
        return (order["purchase_units"][0].get("payments") or {}).get("captures", [])

    def _refund(self, capture_id: str, body: dict[str, Any]) -> Response:
        found = [
            (o, c)
            for o in self.orders.values()
            for c in (o["purchase_units"][0].get("payments") or {}).get("captures", [])
            if c["id"] == capture_id
        ]
        if not found:
            return json_response({"name": "RESOURCE_NOT_FOUND"}, 404)
        _, capture = found[0]
        total = Decimal(capture["amount"]["value"])
        amount = Decimal(body.get("amount", capture["amount"])["value"])
        done = self.refunded.get(capture_id, Decimal(0))
        if done >= total:
            return _issue("CAPTURE_FULLY_REFUNDED")
        if done + amount > total:
            return _issue("REFUND_AMOUNT_EXCEEDED")
        self.refunded[capture_id] = done + amount
        capture["status"] = "REFUNDED" if done + amount == total else "PARTIALLY_REFUNDED"
        # As PayPal's refund resource: no order id and no custom_id, only a link "up" to the capture.
        refund = {
            "id": f"1JU08902781{next(self._ids):06d}",
            "status": "COMPLETED",
            "amount": body.get("amount", capture["amount"]),
            "links": [
                {"href": f"{self.url}/v2/payments/refunds/x", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ],
        }
        self.refunds.append(refund)
        return json_response(refund, 201)

    # -- outside the API -----------------------------------------------------------------------------------

    def refund_in_dashboard(self, order_id: str, value: str) -> dict[str, Any]:
        """The merchant refunds from the PayPal dashboard: the refund resource PayPal's webhook then carries."""
        capture_id = self._captures(self.orders[order_id])[0]["id"]
        currency = self._captures(self.orders[order_id])[0]["amount"]["currency_code"]
        answer = self._refund(capture_id, {"amount": {"value": value, "currency_code": currency}})
        assert answer.status == 201
        return self.refunds[-1]

    def approve(self, order_id: str) -> tuple[bytes, dict[str, str]]:
        """The buyer approves on paypal.com; PayPal posts CHECKOUT.ORDER.APPROVED."""
        self.orders[order_id]["status"] = "APPROVED"
        return self.webhook("CHECKOUT.ORDER.APPROVED", self.orders[order_id])

    def webhook(
        self,
        event_type: str,
        resource: dict[str, Any],
        webhook_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "id": f"WH-{uuid.uuid4().hex[:20].upper()}",
                "event_version": "1.0",
                "create_time": "2024-01-01T00:00:00Z",
                "resource_type": "checkout-order",
                "event_type": event_type,
                "resource": resource,
            }
        ).encode()
        transmission_id, when = str(uuid.uuid1()), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = f"{transmission_id}|{when}|{webhook_id or self.webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}"
        signature = self._key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return body, {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": f"{self.url}/certs/paypal.pem",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
