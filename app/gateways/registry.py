"""The gateway registry: an explicit code -> class map, the factory, a description for settings/CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from app.gateways.base import N_, Capability, ConfigInvalid, Gateway
from app.gateways.cloudpayments import CloudPaymentsGateway
from app.gateways.liqpay import LiqPayGateway
from app.gateways.offline import BankTransferGateway, CashOnDeliveryGateway
from app.gateways.paypal import PayPalGateway
from app.gateways.robokassa import RobokassaGateway
from app.gateways.sandbox import SandboxGateway
from app.gateways.stripe import StripeGateway
from app.gateways.tbank import TBankGateway
from app.gateways.wayforpay import WayForPayGateway
from app.gateways.yookassa import YooKassaGateway

GATEWAYS: dict[str, type[Gateway]] = {
    "sandbox": SandboxGateway,
    "cash_on_delivery": CashOnDeliveryGateway,
    "bank_transfer": BankTransferGateway,
    "yookassa": YooKassaGateway,
    "robokassa": RobokassaGateway,
    "cloudpayments": CloudPaymentsGateway,
    "tbank": TBankGateway,
    "stripe": StripeGateway,
    "paypal": PayPalGateway,
    "liqpay": LiqPayGateway,
    "wayforpay": WayForPayGateway,
}


def gateway_class(code: str) -> type[Gateway]:
    try:
        return GATEWAYS[code]
    except KeyError:
        raise ConfigInvalid({"code": N_("Unknown payment system.")}, detail=f"code={code!r}") from None


def get_gateway(
    code: str,
    config: Mapping[str, Any],
    *,
    test_mode: bool = False,
    base_url: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> Gateway:
    """An adapter bound to one connection. Raises ConfigInvalid for an unknown code or bad settings.

    ``base_url`` overrides the gateway's API address (tests, proxies); for the sandbox it is this site's
    public address. Without ``http`` the adapter opens its own client; close it with ``aclose()``.
    """
    return gateway_class(code)(config, test_mode=test_mode, base_url=base_url, http=http)


def describe() -> list[dict[str, Any]]:
    """Every registered gateway: code, display name (msgid), capabilities, config fields."""
    return [
        {
            "code": code,
            "name": cls.display_name,
            "capabilities": {cap.value: cap in cls.capabilities for cap in Capability},
            "config_fields": [f.describe() for f in cls.config_fields],
            "currencies": sorted(cls.currencies) if cls.currencies else None,
            "notification_needs_confirmation": cls.notification_needs_confirmation,
        }
        for code, cls in GATEWAYS.items()
    ]
