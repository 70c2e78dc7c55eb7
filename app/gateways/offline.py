"""Offline methods with no network: cash on delivery, and bank transfer (requisites for an invoice)."""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping

from app.gateways.base import (
    N_,
    Capability,
    ConfigField,
    ConfigInvalid,
    Gateway,
    GatewayResult,
    Notification,
    NotSupported,
    PaymentRequest,
    PaymentStatus,
    RefundRequest,
    RefundResult,
    ShopperStep,
    StepKind,
)

_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if not _IBAN_RE.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


class OfflineGateway(Gateway):
    """Money moves outside any system; staff confirm receipt and record refunds by hand."""

    capabilities = frozenset({Capability.OFFLINE, Capability.REFUND, Capability.PARTIAL_REFUND})

    @abstractmethod
    def instructions(self, req: PaymentRequest) -> dict[str, str]:
        """What the shopper is told to do (cash to the courier, bank requisites for the transfer)."""

    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        step = ShopperStep(StepKind.INSTRUCTIONS, instructions=self.instructions(req))
        return GatewayResult(PaymentStatus.PENDING, f"{self.code}-{req.payment_ref}", req.amount, shopper_step=step)

    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        raise NotSupported(N_("Offline payment methods send no notifications."))

    async def refund(self, req: RefundRequest) -> RefundResult:
        # Nothing to call: the refund is handed over by staff and only recorded here.
        return RefundResult(f"manual-{req.idempotency_key}", "succeeded", req.amount)


class CashOnDeliveryGateway(OfflineGateway):
    code = "cash_on_delivery"
    display_name = N_("Cash on delivery")
    config_fields = (
        ConfigField(
            "instructions",
            N_("Instructions for the shopper"),
            required=False,
            help=N_("Shown on the order page; leave empty for the standard text."),
        ),
    )

    def instructions(self, req: PaymentRequest) -> dict[str, str]:
        # Without merchant text the app shows its own translated default; a msgid here would go untranslated.
        text = {"message": self.config["instructions"]} if self.config["instructions"] else {}
        return {**text, "amount": req.amount.format(), "currency": req.amount.currency}

    async def check_connection(self) -> None:
        return None


class BankTransferGateway(OfflineGateway):
    code = "bank_transfer"
    display_name = N_("Bank transfer (invoice)")
    config_fields = (
        ConfigField("recipient", N_("Recipient (legal name)")),
        ConfigField("account", N_("Account number or IBAN")),
        ConfigField("bank_name", N_("Bank name")),
        ConfigField("inn", N_("Taxpayer number (INN)"), required=False),
        ConfigField("kpp", N_("KPP"), required=False),
        ConfigField("bik", N_("Bank BIK"), required=False),
        ConfigField("correspondent_account", N_("Correspondent account"), required=False),
        ConfigField("swift", N_("SWIFT/BIC"), required=False),
        ConfigField(
            "purpose",
            N_("Payment purpose"),
            required=False,
            default="Payment for order {order_number}",
            help=N_("{order_number} is replaced with the order number."),
        ),
    )

    def instructions(self, req: PaymentRequest) -> dict[str, str]:
        names = ("recipient", "account", "bank_name", "inn", "kpp", "bik", "correspondent_account", "swift")
        requisites = {name: self.config[name] for name in names if self.config[name]}
        purpose = self.config["purpose"].replace("{order_number}", req.order_number)
        return {
            **requisites,
            "purpose": purpose,
            "invoice_number": req.order_number,
            "amount": req.amount.format(),
            "currency": req.amount.currency,
        }

    async def check_connection(self) -> None:
        """Local checks only: there is nothing to call."""
        errors: dict[str, str] = {}
        account = self.config["account"].replace(" ", "")
        if not (re.fullmatch(r"\d{20}", account) or iban_is_valid(account)):
            errors["account"] = N_("Enter a 20-digit account number or a valid IBAN.")
        for name, lengths, message in (
            ("inn", (10, 12), N_("The INN has 10 or 12 digits.")),
            ("kpp", (9,), N_("The KPP has 9 digits.")),
            ("bik", (9,), N_("The BIK has 9 digits.")),
            ("correspondent_account", (20,), N_("The correspondent account has 20 digits.")),
        ):
            value = self.config[name]
            if value and not (value.isdigit() and len(value) in lengths):
                errors[name] = message
        if errors:
            raise ConfigInvalid(errors)
