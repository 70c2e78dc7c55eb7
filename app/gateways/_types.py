"""Value types of the gateway interface: statuses, error codes, exceptions, config specs, requests."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.gateways._money import Money, Receipt

_MASK = "********"


def N_(s: str) -> str:
    """Mark a msgid for extraction; the app translates it when showing it (gateways import no i18n)."""
    return s


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    WAITING_CAPTURE = "waiting_capture"
    AUTHORIZED = "waiting_capture"  # alias: money held, not yet captured
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class ErrorCode(enum.StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    AUTHENTICATION_FAILED = "authentication_failed"
    EXPIRED = "expired"
    PROCESSING_ERROR = "processing_error"
    INVALID_REQUEST = "invalid_request"
    INVALID_AMOUNT = "invalid_amount"
    RECEIPT_MISMATCH = "receipt_mismatch"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"
    NOT_REFUNDABLE = "not_refundable"
    NOT_FOUND = "not_found"
    INVALID_CREDENTIALS = "invalid_credentials"
    CONFIG_INVALID = "config_invalid"
    SIGNATURE_INVALID = "signature_invalid"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED = "unsupported"


class Capability(enum.StrEnum):
    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    RECEIPTS = "receipts"
    STATUS_QUERY = "status_query"
    OFFLINE = "offline"
    CAPTURE = "capture"


class StepKind(enum.StrEnum):
    REDIRECT = "redirect"
    FORM_POST = "form_post"
    WIDGET = "widget"
    INSTRUCTIONS = "instructions"


class NotificationKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    CHECK = "check"  # asks "may this payment go ahead?" (CloudPayments Check); changes nothing
    INFO = "info"


# Default msgids per code, so adapters raise ``GatewayDeclined(code=...)`` and the app shows a clear message.
CODE_MESSAGES = {
    ErrorCode.CARD_DECLINED: N_("The card was declined."),
    ErrorCode.INSUFFICIENT_FUNDS: N_("There is not enough money on the card."),
    ErrorCode.AUTHENTICATION_FAILED: N_("The card holder did not pass authentication (3-D Secure)."),
    ErrorCode.EXPIRED: N_("The payment expired."),
    ErrorCode.REFUND_EXCEEDS_PAYMENT: N_("The refund exceeds what is left of the payment."),
    ErrorCode.NOT_FOUND: N_("The payment was not found."),
    ErrorCode.NOT_REFUNDABLE: N_("Only a completed payment can be refunded."),
    ErrorCode.INVALID_CREDENTIALS: N_("The payment system rejected the credentials."),
    ErrorCode.INVALID_AMOUNT: N_("The amount or currency is not accepted."),
    ErrorCode.RECEIPT_MISMATCH: N_("Receipt lines do not add up to the amount."),
}


class GatewayError(Exception):
    """Base of adapter errors; ``message`` is an English msgid, ``detail`` is for logs (never secrets)."""

    code: ErrorCode = ErrorCode.PROCESSING_ERROR
    default_message = N_("The payment system returned an error.")

    def __init__(self, message: str | None = None, *, code: ErrorCode | None = None, detail: str = "") -> None:
        self.code = code or self.code
        self.message = message or CODE_MESSAGES.get(self.code) or self.default_message
        self.detail = detail
        super().__init__(f"{self.code}: {self.message}" + (f" ({detail})" if detail else ""))


class SignatureInvalid(GatewayError):
    code = ErrorCode.SIGNATURE_INVALID
    default_message = N_("The notification signature is not valid.")


class GatewayUnavailable(GatewayError):
    """Timeout, connection error or 5xx: the outcome is UNKNOWN; query the status, never assume failure."""

    code = ErrorCode.UNAVAILABLE
    default_message = N_("The payment system did not answer; the outcome is not known yet.")


class GatewayDeclined(GatewayError):
    """The gateway answered and definitely refused the operation."""

    code = ErrorCode.CARD_DECLINED
    default_message = N_("The payment system declined the operation.")


class RequestInvalid(GatewayError, ValueError):
    code = ErrorCode.INVALID_REQUEST
    default_message = N_("The payment request is not valid.")


class NotSupported(GatewayError):
    code = ErrorCode.UNSUPPORTED
    default_message = N_("This payment system does not support the operation.")


class ConfigInvalid(GatewayError):
    """Bad or rejected credentials; ``errors`` maps a config field name (or ``"__all__"``) to a msgid."""

    code = ErrorCode.CONFIG_INVALID
    default_message = N_("The payment system settings are not valid.")

    def __init__(
        self, errors: Mapping[str, str] | None = None, *, code: ErrorCode | None = None, detail: str = ""
    ) -> None:
        fallback = CODE_MESSAGES.get(code) if code else None
        self.errors = dict(errors or {"__all__": fallback or self.default_message})
        super().__init__(next(iter(self.errors.values())), code=code, detail=detail)


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One connection setting as the settings screen shows it; ``label``/``help`` are msgids."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""
    choices: tuple[str, ...] = ()
    default: str | None = None

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "choices": list(self.choices)}


class GatewayConfig(Mapping[str, str]):
    """Validated connection settings; ``repr`` and ``redacted()`` never show a secret."""

    def __init__(self, fields: Sequence[ConfigField], values: Mapping[str, Any]) -> None:
        self.fields = {f.name: f for f in fields}
        errors: dict[str, str] = {}
        for name in values:
            if name not in self.fields:
                errors[name] = N_("Unknown setting.")
        clean: dict[str, str] = {}
        for f in fields:
            raw = values.get(f.name)
            value = (str(raw).strip() if raw is not None else "") or (f.default or "")
            if f.required and not value:
                errors[f.name] = N_("This setting is required.")
            elif value and f.choices and value not in f.choices:
                errors[f.name] = N_("Choose one of the listed values.")
            clean[f.name] = value
        if errors:
            raise ConfigInvalid(errors)
        self._values = clean

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def redacted(self) -> dict[str, str]:
        return {k: (_MASK if self.fields[k].secret and v else v) for k, v in self._values.items()}

    def __repr__(self) -> str:
        return f"GatewayConfig({self.redacted()!r})"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """One payment attempt. ``payment_ref`` is our unique reference sent as the gateway's order id."""

    payment_ref: str  # unique per attempt and connection; digits only for Robokassa (InvId)
    order_number: str  # what the shopper and staff see
    idempotency_key: str  # persisted BEFORE the call and reused on every retry of this attempt
    amount: Money
    description: str
    return_url: str
    notify_url: str
    fail_url: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    locale: str = "ru"
    receipt: Receipt | None = None
    capture: bool = True
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.amount.minor <= 0:
            raise RequestInvalid(N_("The amount must be positive."), code=ErrorCode.INVALID_AMOUNT)
        if not self.idempotency_key or not self.payment_ref:
            raise RequestInvalid(detail="payment_ref and idempotency_key are required")
        if self.receipt is not None and not self.receipt.matches(self.amount):
            raise RequestInvalid(
                N_("Receipt lines do not add up to the payment amount."), code=ErrorCode.RECEIPT_MISMATCH
            )


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A full or partial refund; the web layer keeps refunds as child records with their own keys."""

    provider_payment_id: str
    amount: Money
    idempotency_key: str
    payment_ref: str | None = None  # needed where the gateway refunds by our order reference
    reason: str = ""
    receipt: Receipt | None = None

    def __post_init__(self) -> None:
        if self.amount.minor <= 0:
            raise RequestInvalid(N_("The refund amount must be positive."), code=ErrorCode.INVALID_AMOUNT)
        if self.receipt is not None and not self.receipt.matches(self.amount):
            raise RequestInvalid(
                N_("Receipt lines do not add up to the refund amount."), code=ErrorCode.RECEIPT_MISMATCH
            )


@dataclass(frozen=True, slots=True)
class ShopperStep:
    """What the shopper's browser does next. ``fields`` are ordered pairs because names may repeat."""

    kind: StepKind
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    widget: Mapping[str, Any] = field(default_factory=dict)
    instructions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """The gateway's view of one payment (after create, a status query, or capture)."""

    status: PaymentStatus
    provider_payment_id: str | None
    amount: Money | None = None
    shopper_step: ShopperStep | None = None
    refunded: Money | None = None  # total refunded so far, where the gateway reports it
    error_code: ErrorCode | None = None
    message: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    status: str  # "succeeded" | "pending"; a refused refund raises GatewayDeclined instead
    amount: Money
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """A parsed inbound notification. ``amount`` is this event's amount (the refunded sum for refunds)."""

    verified: bool  # False: authenticity unknown (YooKassa), the pipeline must re-fetch before trusting it
    event_id: str  # dedup key, unique per (connection, gateway event)
    kind: NotificationKind
    status: PaymentStatus | None
    provider_payment_id: str | None
    payment_ref: str | None = None
    amount: Money | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    refund_id: str | None = None  # the gateway's id of the refund, for REFUND notifications that carry one
    # For REFUND notifications without a refund id: all the gateway has refunded of the payment so far, so a
    # refund made in its cabinet is what this total exceeds ours by (a repeat or our own echo adds nothing).
    refunded_total: Money | None = None

    @property
    def currency(self) -> str | None:
        return self.amount.currency if self.amount else None
