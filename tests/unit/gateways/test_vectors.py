"""Published and derived signature vectors, read in place from ../shared, against each adapter's own code."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from app.gateways import cloudpayments, liqpay, paypal, robokassa, stripe, tbank, wayforpay
from app.gateways.base import ROUTE_KIND, Money, NotificationKind, PaymentStatus, Receipt, ReceiptItem, SignatureInvalid
from app.gateways.registry import get_gateway
from tests.fakes.gateways.paypal import make_signing_pair
from tests.unit.gateways._support import FIXTURES, load_vectors

pytestmark = pytest.mark.unit

PUBLISHED = load_vectors("published_vectors.json")
DERIVED = load_vectors("derived_vectors.json")


# -- Robokassa --------------------------------------------------------------------------------------------


def test_robokassa_init_vector() -> None:
    v = PUBLISHED["robokassa_init"]
    parts = robokassa.init_signature_parts(
        "test_login", "100.0", "58", None, "test_password", {"shpparam1": "None", "shpparam2": "None"}
    )
    assert ":".join(parts) == v["signed_string"]
    assert robokassa.signature(parts).upper() == v["expected"]


@pytest.mark.parametrize("name, shp1", [("robokassa_result_1", "Vasia"), ("robokassa_result_2", "None")])
def test_robokassa_result_vectors_through_parse_notification(name: str, shp1: str) -> None:
    v = PUBLISHED[name]
    parts = robokassa.result_signature_parts("100", "58", "test_password2", {"shpparam2": "None", "shpparam1": shp1})
    assert ":".join(parts) == v["signed_string"]
    gw = get_gateway(
        "robokassa",
        {"merchant_login": "test_login", "password1": "test_password", "password2": "test_password2"},
    )
    params = {
        "OutSum": "100",
        "InvId": "58",
        "SignatureValue": v["expected"],
        "shpparam1": shp1,
        "shpparam2": "None",
    }
    note = gw.parse_notification(urlencode(params).encode(), {}, {})
    assert note.amount == Money(10000, "RUB")
    if "expected_response_body" in v:
        assert gw.notification_response(note)[2].decode() == v["expected_response_body"]
    for tampered in ({"OutSum": "101"}, {"shpparam1": "Vasia" if shp1 == "None" else "None"}):
        with pytest.raises(SignatureInvalid):
            gw.parse_notification(urlencode({**params, **tampered}).encode(), {}, {})


def test_robokassa_derived_receipt_vector() -> None:
    v = DERIVED["robokassa_derived"]
    one = Money(10000, "RUB")
    receipt = Receipt((ReceiptItem("Товар 1", Decimal(1), one, one),), taxation="osn")
    encoded = robokassa.receipt_param(receipt)
    assert encoded == v["receipt_urlencoded_once"]
    parts = robokassa.init_signature_parts(
        "demo", "100.00", "5", encoded, "password_1", {"Shp_login": "Vasya", "Shp_item": "1"}
    )
    assert ":".join(parts) == v["signature_string"]
    assert robokassa.signature(parts, "md5") == v["md5"]
    assert robokassa.signature(parts, "sha256") == v["sha256"]


def test_robokassa_derived_result_vector() -> None:
    v = DERIVED["robokassa_result_derived"]
    gw = get_gateway("robokassa", {"merchant_login": "demo", "password1": "password_1", "password2": "password_2"})
    body = urlencode(
        {
            "OutSum": "100.00",
            "InvId": "5",
            "Shp_login": "Vasya",
            "Shp_item": "1",
            "SignatureValue": v["md5_upper"],
        }
    ).encode()
    note = gw.parse_notification(body, {}, {})
    assert gw.notification_response(note)[2].decode() == v["expected_response"]
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body.replace(b"Vasya", b"Petya"), {}, {})


# -- CloudPayments -----------------------------------------------------------------------------------------


def test_cloudpayments_derived_vector_either_header_either_body() -> None:
    v = DERIVED["cloudpayments_derived"]
    body = v["body"].encode()
    assert cloudpayments.hmac_b64(v["secret"], body) == v["hmac_raw_body_b64"]
    gw = get_gateway("cloudpayments", {"public_id": "pk", "api_secret": v["secret"]})
    for header in ("Content-HMAC", "X-Content-HMAC"):
        for sig in (v["hmac_raw_body_b64"], v["hmac_urldecoded_body_b64"]):
            note = gw.parse_notification(body, {header: sig}, {ROUTE_KIND: "pay"})
            assert note.amount == Money(10000, "RUB") and note.payment_ref == "1"
            assert note.status is PaymentStatus.SUCCEEDED
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(
            body.replace(b"100.00", b"900.00"), {"Content-HMAC": v["hmac_raw_body_b64"]}, {ROUTE_KIND: "pay"}
        )
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body, {"Content-HMAC": v["hmac_raw_body_b64"][:-2] + "A="}, {ROUTE_KIND: "pay"})


# -- T-Bank ------------------------------------------------------------------------------------------------


def test_tbank_init_token_vector_ignores_nested_objects() -> None:
    v = PUBLISHED["tbank_init_token"]
    assert tbank.token(v["params"], v["password"]) == v["expected"]
    flat = {k: val for k, val in v["params"].items() if not isinstance(val, dict)}
    assert tbank.token(flat, v["password"]) == v["expected"]


def test_tbank_notification_vector_through_parse_notification() -> None:
    v = PUBLISHED["tbank_notification_token"]
    assert tbank.token(v["params"], v["password"]) == v["expected"]
    gw = get_gateway("tbank", {"terminal_key": v["params"]["TerminalKey"], "password": v["password"]})
    body = json.dumps({**v["params"], "Token": v["expected"]}).encode()
    note = gw.parse_notification(body, {}, {})
    assert note.status is PaymentStatus.WAITING_CAPTURE and note.amount == Money(9855, "RUB")
    assert gw.notification_response(note)[2].decode() == v["expected_response_body"]
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body.replace(b'"Amount": 9855', b'"Amount": 9856'), {}, {})
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body.replace(b'"Success": true', b'"Success": false'), {}, {})


# -- Stripe ------------------------------------------------------------------------------------------------


def test_stripe_derived_vector() -> None:
    v = DERIVED["stripe_derived"]
    payload = v["payload"].encode()
    assert stripe.signature_header(payload, v["secret"], v["timestamp"]) == v["header"]
    stripe.verify_signature(payload, v["header"], v["secret"], now=0, tolerance=None)
    with pytest.raises(SignatureInvalid):  # far outside the default 300 s tolerance
        stripe.verify_signature(payload, v["header"], v["secret"], now=12345 + 301, tolerance=300)
    with pytest.raises(SignatureInvalid):
        stripe.verify_signature(
            payload.replace(b"rdr_123", b"rdr_124"), v["header"], v["secret"], now=0, tolerance=None
        )
    mixed = v["header"].replace("t=12345,", "t=12345,v1=" + "0" * 64 + ",")
    stripe.verify_signature(payload, mixed, v["secret"], now=0, tolerance=None)  # one valid v1 among several
    gw = get_gateway("stripe", {"secret_key": "sk_test_x", "webhook_secret": v["secret"]})
    gw.tolerance = None
    assert gw.parse_notification(payload, {"Stripe-Signature": v["header"]}, {}).event_id == "evt_test_webhook"


# -- PayPal ------------------------------------------------------------------------------------------------


def test_paypal_offline_rsa_vector() -> None:
    v = PUBLISHED["paypal_webhook_rsa"]
    body = (FIXTURES / v["body_file"]).read_bytes()
    pem = (FIXTURES / v["cert_file"]).read_bytes()
    assert zlib.crc32(body) & 0xFFFFFFFF == 2771810304
    # The sandbox certificate expired in 2017: check it at a time it was valid; its chain is not included.
    leaf = paypal.check_certificate(pem, now=datetime(2016, 1, 1, tzinfo=UTC), roots=None)
    headers = {
        "PAYPAL-TRANSMISSION-ID": v["transmission_id"],
        "PAYPAL-TRANSMISSION-TIME": v["transmission_time"],
        "PAYPAL-TRANSMISSION-SIG": v["signature_b64"],
    }
    webhook_id = v["webhook_id"]
    paypal.verify_transmission(body, headers, webhook_id=webhook_id, certificate=leaf)
    with pytest.raises(SignatureInvalid):
        paypal.verify_transmission(body.replace(b"20.00", b"21.00"), headers, webhook_id=webhook_id, certificate=leaf)
    with pytest.raises(SignatureInvalid):
        paypal.verify_transmission(body, headers, webhook_id="OTHER", certificate=leaf)
    with pytest.raises(SignatureInvalid):
        paypal.verify_transmission(
            body, {**headers, "PAYPAL-TRANSMISSION-ID": "x"}, webhook_id=webhook_id, certificate=leaf
        )
    with pytest.raises(SignatureInvalid):
        paypal.check_certificate(pem, now=datetime.now(UTC), roots=None)  # expired today


def test_paypal_vector_through_parse_notification() -> None:
    v = PUBLISHED["paypal_webhook_rsa"]
    body = (FIXTURES / v["body_file"]).read_bytes()
    cert_url = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
    gw = get_gateway("paypal", {"client_id": "c", "client_secret": "s", "webhook_id": v["webhook_id"]}, test_mode=True)
    assert isinstance(gw, paypal.PayPalGateway)
    gw.clock = lambda: datetime(2016, 1, 1, tzinfo=UTC)
    gw._cert_cache[cert_url] = (FIXTURES / v["cert_file"]).read_bytes()
    headers = {
        "PAYPAL-TRANSMISSION-ID": v["transmission_id"],
        "PAYPAL-TRANSMISSION-TIME": v["transmission_time"],
        "PAYPAL-TRANSMISSION-SIG": v["signature_b64"],
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    gw.trust_roots = None  # the OS store: the leaf alone chains to its root through the bundled intermediate
    notification = gw.parse_notification(body, headers, {})
    assert notification.verified and notification.kind is NotificationKind.INFO  # a v1 sale event: not ours
    gw.trust_roots = []  # an explicit empty store is refused too: chains are always checked in the adapter
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body, headers, {})


# -- LiqPay ------------------------------------------------------------------------------------------------


def test_liqpay_docs_callback_vector() -> None:
    v = PUBLISHED["liqpay_docs_callback"]
    assert liqpay.signature(v["data"], v["private_key"]) == v["expected"]


def test_liqpay_sdk_form_vector_and_callback_check() -> None:
    v = PUBLISHED["liqpay_sdk_form"]
    data = liqpay.encode_data(v["params_json_sorted_keys"])
    assert liqpay.signature(data, v["private_key"]) == v["expected"]
    gw = get_gateway("liqpay", {"public_key": "your_public_key", "private_key": v["private_key"]})
    note = gw.parse_notification(urlencode({"data": data, "signature": v["expected"]}).encode(), {}, {})
    assert note.payment_ref == "123456" and note.amount == Money(1000, "USD")
    # A signature made by another scheme (the SDK's decode_data_from_str vector) must not pass.
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(urlencode({"data": data, "signature": "mImHiMlo8z80jSh7+tWOz0enjIk="}).encode(), {}, {})


# -- WayForPay ---------------------------------------------------------------------------------------------


def test_wayforpay_derived_vectors() -> None:
    v = DERIVED["wayforpay_derived"]
    for string, expected in (
        (v["purchase_string"], v["purchase_sig"]),
        (v["callback_string"], v["callback_sig"]),
        (v["accept_string"], v["accept_sig"]),
    ):
        assert wayforpay.sign(v["secret"], string.split(";")) == expected


def test_wayforpay_callback_and_accept_vectors_through_the_adapter() -> None:
    v = DERIVED["wayforpay_derived"]
    values = v["callback_string"].split(";")
    body = json.dumps(
        {
            **dict(zip(wayforpay.CALLBACK_FIELDS, values, strict=True)),
            "amount": 1547.36,
            "reasonCode": 1100,
            "merchantSignature": v["callback_sig"],
        }
    ).encode()
    config = {"merchant_account": values[0], "secret_key": v["secret"], "merchant_domain": "www.market.ua"}
    gw = get_gateway("wayforpay", config)
    note = gw.parse_notification(body, {}, {})
    assert note.amount == Money(154736, "UAH") and note.status is PaymentStatus.SUCCEEDED
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body.replace(b"1547.36", b"1547.37"), {}, {})
    gw.clock = lambda: datetime.fromtimestamp(1415379863, UTC)
    reply = json.loads(gw.notification_response(note)[2])
    assert reply == {
        "orderReference": "DH783023",
        "status": "accept",
        "time": 1415379863,
        "signature": v["accept_sig"],
    }


def test_paypal_leaf_only_certificate_verifies_through_the_bundled_intermediate() -> None:
    """The published sandbox certificate comes alone; PayPal's SDK (paypalrestsdk 1.13.3) chains it with its
    bundled DigiCert intermediate up to DigiCert High Assurance EV Root CA, which the OS trust store holds."""
    pem = (FIXTURES / PUBLISHED["paypal_webhook_rsa"]["cert_file"]).read_bytes()
    when = datetime(2016, 1, 1, tzinfo=UTC)  # the sandbox certificate expired in 2017
    leaf = paypal.check_certificate(pem, now=when, roots=paypal.system_roots())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "messageverificationcerts.sandbox.paypal.com"
    )
    (intermediate,) = paypal.bundled_intermediates()
    assert intermediate.fingerprint(hashes.SHA256()).hex().upper() == (
        "403E062A2653059113285BAF80A0D4AE422C848C9F78FAD01FC94BC5B87FEF1A"  # the SDK wheel's file
    )
    other_root, _leaf, _key = make_signing_pair()
    with pytest.raises(SignatureInvalid):  # without DigiCert's root it is still refused
        paypal.check_certificate(pem, now=when, roots=[other_root])
