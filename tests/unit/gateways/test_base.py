"""Money, receipts, config specs and the HTTP error mapping shared by every adapter."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from app.gateways.base import (
    ConfigField,
    ConfigInvalid,
    ErrorCode,
    GatewayConfig,
    GatewayDeclined,
    GatewayUnavailable,
    Money,
    PaymentRequest,
    PaymentStatus,
    Receipt,
    ReceiptItem,
    RequestInvalid,
)
from app.gateways.registry import get_gateway

pytestmark = pytest.mark.unit


def test_money_uses_the_currency_exponent() -> None:
    assert Money(150000, "RUB").format() == "1500.00"
    assert Money(500, "JPY").format() == "500"
    assert Money(1500, "KWD").format() == "1.500"
    assert Money.from_decimal("500.000000", "RUB") == Money(50000, "RUB")
    assert Money.from_decimal("500", "JPY") == Money(500, "JPY")
    with pytest.raises(ValueError):
        Money.from_decimal("1.005", "RUB")  # refused, never rounded
    with pytest.raises(ValueError):
        Money.from_decimal("12.5", "JPY")
    with pytest.raises(TypeError):
        Money(1.5, "RUB")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(100, "rub")
    with pytest.raises(ValueError):
        Money(100, "RUB") + Money(100, "USD")
    assert PaymentStatus.AUTHORIZED is PaymentStatus.WAITING_CAPTURE


def test_receipt_lines_must_match_price_times_quantity_and_the_total() -> None:
    rub = Money(10000, "RUB")
    with pytest.raises(ValueError):
        ReceiptItem("x", Decimal(2), rub, rub)
    half = ReceiptItem("Сыр, кг", Decimal("0.333"), Money(30000, "RUB"), Money(9990, "RUB"))
    receipt = Receipt((half,), taxation="usn_income")
    assert receipt.total() == Money(9990, "RUB") and receipt.matches(Money(9990, "RUB"))
    with pytest.raises(RequestInvalid) as err:
        PaymentRequest(**_fields(receipt, 9991))  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.RECEIPT_MISMATCH
    with pytest.raises(ValueError):
        ReceiptItem("x", Decimal(1), rub, rub, vat_code="vat18")


def _fields(receipt: Receipt, minor: int) -> dict[str, object]:
    return {
        "payment_ref": "1",
        "order_number": "1",
        "idempotency_key": "k",
        "amount": Money(minor, "RUB"),
        "description": "d",
        "return_url": "https://r",
        "notify_url": "https://n",
        "receipt": receipt,
    }


def test_config_redacts_secrets_and_reports_each_field() -> None:
    fields = (
        ConfigField("login", "Login"),
        ConfigField("key", "Key", secret=True),
        ConfigField("mode", "Mode", required=False, choices=("a", "b")),
    )
    config = GatewayConfig(fields, {"login": " shop ", "key": "s3cr3t"})
    assert config["login"] == "shop" and config.redacted() == {"login": "shop", "key": "********", "mode": ""}
    assert "s3cr3t" not in repr(config)
    with pytest.raises(ConfigInvalid) as err:
        GatewayConfig(fields, {"login": "", "mode": "c"})
    assert set(err.value.errors) == {"login", "key", "mode"}


async def test_http_failures_map_to_unknown_outcome_and_4xx_to_declined() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/boom"):
            raise httpx.ConnectError("refused")
        return httpx.Response(int(request.url.path.rsplit("/", 1)[1]), json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        gw = get_gateway("yookassa", {"shop_id": "1", "secret_key": "k"}, base_url="https://fake.test/v3", http=http)
        for path in ("boom", "500", "503", "429"):
            with pytest.raises(GatewayUnavailable):
                await gw.fetch_status(path)
        with pytest.raises(GatewayDeclined) as err:
            await gw.fetch_status("404")
        assert err.value.code is ErrorCode.NOT_FOUND
