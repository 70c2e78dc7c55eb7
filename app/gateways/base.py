"""Gateway interface: the ABC every adapter implements, plus the value types adapters and the app use."""

from __future__ import annotations

import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx

from app.gateways._money import (
    MEASURES,
    PAYMENT_MODES,
    PAYMENT_SUBJECTS,
    TAXATION_SYSTEMS,
    VAT_CODES,
    Money,
    Receipt,
    ReceiptItem,
    currency_exponent,
)
from app.gateways._types import (
    N_,
    Capability,
    ConfigField,
    ConfigInvalid,
    ErrorCode,
    GatewayConfig,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayUnavailable,
    Notification,
    NotificationKind,
    NotSupported,
    PaymentRequest,
    PaymentStatus,
    RefundRequest,
    RefundResult,
    RequestInvalid,
    ShopperStep,
    SignatureInvalid,
    StepKind,
)

__all__ = [
    "MEASURES",
    "N_",
    "PAYMENT_MODES",
    "PAYMENT_SUBJECTS",
    "ROUTE_KIND",
    "TAXATION_SYSTEMS",
    "VAT_CODES",
    "Capability",
    "ConfigField",
    "ConfigInvalid",
    "ErrorCode",
    "Gateway",
    "GatewayConfig",
    "GatewayDeclined",
    "GatewayError",
    "GatewayResult",
    "GatewayUnavailable",
    "Money",
    "NotSupported",
    "Notification",
    "NotificationKind",
    "PaymentRequest",
    "PaymentStatus",
    "Receipt",
    "ReceiptItem",
    "RefundRequest",
    "RefundResult",
    "RequestInvalid",
    "ShopperStep",
    "SignatureInvalid",
    "StepKind",
    "currency_exponent",
    "lower_headers",
    "parse_form",
    "parse_json_object",
    "safe_equal",
]

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def safe_equal(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two signatures."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def parse_form(raw: bytes | str) -> dict[str, str]:
    """Decode an urlencoded body, keeping blank values (they take part in some signatures)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return dict(parse_qsl(text, keep_blank_values=True))


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureInvalid(N_("The notification body is not valid JSON."), detail=str(exc)) from None
    if not isinstance(data, dict):
        raise SignatureInvalid(N_("The notification body is not a JSON object."))
    return data


# The notification type taken from the hook's route (/hooks/{slug}/{gateway}/{connection}/{kind}) reaches the
# adapter under this key of ``query``; the pipeline drops any such key that came in the query string itself.
ROUTE_KIND = "@kind"


class Gateway(ABC):
    """A payment-gateway adapter bound to one store's connection (its config) and an HTTP client."""

    code: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()
    currencies: ClassVar[frozenset[str] | None] = None  # None: any
    live_url: ClassVar[str] = ""
    test_url: ClassVar[str] = ""
    notification_needs_confirmation: ClassVar[bool] = False
    # Gateways that post each notification type to its own URL (CloudPayments): the route kinds they need.
    notification_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: Mapping[str, Any] | GatewayConfig,
        *,
        test_mode: bool = False,
        base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not isinstance(config, GatewayConfig):
            config = GatewayConfig(self.config_fields, config)
        self.config = config
        self.test_mode = test_mode
        self.base_url = (base_url or self.default_url()).rstrip("/")
        self._http = http
        self._owns_http = http is None
        self.clock = clock or (lambda: datetime.now(UTC))

    def default_url(self) -> str:
        """The API host when no override is configured: the test host in test mode, where there is one."""
        return (self.test_url if self.test_mode else self.live_url) or self.live_url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} test={self.test_mode} config={self.config.redacted()}>"

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the operations ---------------------------------------------------------------------------------

    @abstractmethod
    async def create_payment(self, req: PaymentRequest) -> GatewayResult:
        """Start a payment; the result carries ``shopper_step``. GatewayUnavailable means outcome unknown."""

    @abstractmethod
    def parse_notification(self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Notification:
        """Verify the raw bytes (raising SignatureInvalid), then parse."""

    async def receive_notification(
        self, raw_body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> Notification:
        """The pipeline's entry point; adapters that need I/O to verify (PayPal's certificate) override it."""
        return self.parse_notification(raw_body, headers, query)

    def notification_response(self, notification: Notification) -> tuple[int, str, bytes]:
        """The exact answer the gateway expects once the notification is durably stored."""
        return 200, "text/plain", b"OK"

    def check_answer(self, notification: Notification, refusal: str | None) -> tuple[int, str, bytes]:
        """The answer to a CHECK notification ("may this payment go ahead?").

        ``refusal`` is None to accept, else ``"unknown_payment"``, ``"amount"`` or ``"rejected"``.
        """
        return self.notification_response(notification)

    async def fetch_status(
        self, provider_payment_id: str | None = None, *, payment_ref: str | None = None
    ) -> GatewayResult:
        raise NotSupported()

    async def refund(self, req: RefundRequest) -> RefundResult:
        raise NotSupported()

    async def capture(
        self, provider_payment_id: str, *, idempotency_key: str, amount: Money | None = None
    ) -> GatewayResult:
        raise NotSupported()

    @abstractmethod
    async def check_connection(self) -> None:
        """Prove the credentials work (a cheap authenticated call, or local checks). Raises ConfigInvalid."""

    # -- helpers for adapters --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """HTTP call where timeouts, transport errors, 429 and 5xx all mean "outcome unknown"."""
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.InvalidURL:
            raise ConfigInvalid(detail=f"invalid gateway address: {method} {url}") from None
        except httpx.TimeoutException:
            raise GatewayUnavailable(detail=f"timeout: {method} {httpx.URL(url).path}") from None
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(detail=f"{type(exc).__name__}: {method} {httpx.URL(url).path}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(detail=f"HTTP {response.status_code}: {method} {httpx.URL(url).path}")
        return response

    @staticmethod
    def json_of(response: httpx.Response) -> dict[str, Any]:
        """A JSON object body; anything else from a 2xx is an unknown outcome, not a failure."""
        try:
            data = response.json()
        except ValueError:
            raise GatewayUnavailable(detail=f"HTTP {response.status_code}: body is not JSON") from None
        if not isinstance(data, dict):
            raise GatewayUnavailable(detail=f"HTTP {response.status_code}: body is not a JSON object")
        return data

    @classmethod
    def validate_config(cls, values: Mapping[str, Any]) -> dict[str, str]:
        """Clean a settings-form submission; raises ConfigInvalid with per-field msgids."""
        return dict(GatewayConfig(cls.config_fields, values))
