"""Payments: gateway connections (credentials encrypted), starting a payment, and the notification pipeline.

The pipeline verifies the raw bytes first, stores each gateway event once, locks the payment row, checks
amount and currency, moves the status forward only, and answers the gateway only after the commit.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app import crypto
from app.errors import NotFound, Refused, Unavailable, ValidationFailed
from app.gateways.base import (
    Capability,
    ConfigInvalid,
    Gateway,
    GatewayError,
    GatewayUnavailable,
    Money,
    Notification,
    NotificationKind,
    NotSupported,
    PaymentRequest,
    PaymentStatus,
    Receipt,
    ReceiptItem,
    RefundRequest,
    ShopperStep,
    SignatureInvalid,
)
from app.gateways.registry import describe, gateway_class, get_gateway
from app.gateways.sandbox import SandboxGateway, SandboxPage
from app.i18n import gettext as _
from app.services import customers, orders, outbox
from app.tables.payments import Payment, PaymentConnection, PaymentEvent, Refund
from app.tenancy.runtime import current_tenant, store_transaction

logger = logging.getLogger(__name__)
PURPOSE = "gateway-config"
FINAL = frozenset({"succeeded", "failed", "canceled", "refunded"})
PAID = "paid"


@dataclass(frozen=True)
class Keys:
    """What payments need from the process settings (passed in: services never read settings)."""

    secret_key: str
    public_url: str


async def connect(
    code: str,
    values: Mapping[str, str],
    *,
    keys: Keys,
    name: str = "",
    test_mode: bool = True,
    base_url: str | None = None,
) -> int:
    """Store a connection to a gateway; credentials are encrypted and never shown back in full.

    Raises:
        ValidationFailed: unknown gateway or settings it refuses.
    """
    try:
        cls = gateway_class(code)
        names = {field.name for field in cls.config_fields}
        config = cls.validate_config({key: value for key, value in values.items() if key in names and value})
    except ConfigInvalid as exc:
        raise ValidationFailed({key: _(str(message)) for key, message in exc.errors.items()}) from None
    rows = await PaymentConnection.insert(
        PaymentConnection(
            code=code,
            name=name or _(cls.display_name),
            config_encrypted=crypto.encrypt(keys.secret_key, PURPOSE, json.dumps(config)),
            test_mode=test_mode,
            base_url=base_url,
            active=True,
            created_at=datetime.now(UTC),
        )
    ).returning(PaymentConnection.id)
    return int(rows[0]["id"])


async def connection(connection_id: int) -> dict:
    row = await PaymentConnection.select().where(PaymentConnection.id == connection_id).first()
    if row is None:
        raise NotFound(_("This payment connection does not exist."))
    return row


def gateway_for(row: Mapping, keys: Keys) -> Gateway:
    config = json.loads(crypto.decrypt(keys.secret_key, PURPOSE, row["config_encrypted"]))
    # The sandbox's "hosted page" is ours, under the store's public prefix.
    sandbox = f"{keys.public_url.rstrip('/')}/f/{current_tenant().slug}" if row["code"] == "sandbox" else None
    base_url = row["base_url"] or sandbox
    return get_gateway(row["code"], config, test_mode=row["test_mode"], base_url=base_url)


def hook_url(keys: Keys, code: str, connection_id: int) -> str:
    return f"{keys.public_url.rstrip('/')}/hooks/{current_tenant().slug}/{code}/{connection_id}"


async def start(order_token: str, connection_id: int, *, keys: Keys) -> ShopperStep:
    """Create a payment for the order's total and return the shopper's next step.

    The payment row and its idempotency key are stored before the gateway is called, so a retry reuses them.
    """
    order = await orders.by_token(order_token)
    row = await connection(connection_id)
    ref = str((await Payment.raw("SELECT nextval('payment_ref_seq') AS n"))[0]["n"])
    now = datetime.now(UTC)
    key = uuid.uuid4().hex
    created = await Payment.insert(
        Payment(
            order=order["id"],
            connection=connection_id,
            ref=ref,
            idempotency_key=key,
            status="pending",
            amount_minor=order["total_minor"],
            currency=order["currency"],
            created_at=now,
            updated_at=now,
            next_check_at=now,
        )
    ).returning(Payment.id)
    base = keys.public_url.rstrip("/")
    request = PaymentRequest(
        payment_ref=ref,
        order_number=order["number"],
        idempotency_key=key,
        amount=Money(order["total_minor"], order["currency"]),
        description=_("Order %(number)s", number=order["number"]),
        return_url=f"{base}/f/{current_tenant().slug}/o/{order['token']}",
        notify_url=hook_url(keys, row["code"], connection_id),
        customer_email=order["email"],
        customer_phone=order["phone"],
        locale=order["locale"],
        receipt=receipt_for(order) if Capability.RECEIPTS in gateway_class(row["code"]).capabilities else None,
    )
    try:
        async with gateway_for(row, keys) as gateway:
            result = await gateway.create_payment(request)
    except GatewayUnavailable:
        # Outcome unknown: the payment stays pending and reconciliation asks the gateway about it later.
        raise Unavailable(_("The payment system did not answer. Try again in a minute.")) from None
    except GatewayError as exc:
        await Payment.update({Payment.status: "failed", Payment.next_check_at: None}).where(
            Payment.id == created[0]["id"]
        )
        raise ValidationFailed({"__all__": _(exc.message)}) from None
    await Payment.update({Payment.provider_payment_id: result.provider_payment_id, Payment.attempts: 1}).where(
        Payment.id == created[0]["id"]
    )
    assert result.shopper_step is not None
    return result.shopper_step


async def handle_notification(
    connection_id: int, raw: bytes, headers: Mapping[str, str], query: Mapping[str, str], *, keys: Keys
) -> tuple[int, str, bytes]:
    """Verify, store once, apply under a row lock; returns the answer the gateway expects.

    Raises:
        Refused: a forged or damaged notification (nothing is stored).
    """
    row = await connection(connection_id)
    async with gateway_for(row, keys) as gateway:
        try:
            notification = await gateway.receive_notification(raw, headers, query)
        except SignatureInvalid:
            raise Refused(_("The notification's signature is not valid.")) from None
        if not notification.verified and notification.provider_payment_id:
            # Unsigned (YooKassa): believe only what the gateway itself says when asked.
            status = await gateway.fetch_status(notification.provider_payment_id)
            # The confirmed status is part of the event's identity: a forged "succeeded" that the gateway
            # denied must not block the genuine one that comes later.
            notification = Notification(
                True,
                f"{notification.event_id}|{status.status}",
                notification.kind,
                status.status,
                notification.provider_payment_id,
                notification.payment_ref,
                status.amount,
                notification.raw,
            )
        await _apply(connection_id, notification, raw)
        return gateway.notification_response(notification)


async def _apply(connection_id: int, n: Notification, raw: bytes) -> None:
    now = datetime.now(UTC)
    async with store_transaction():
        stored = await PaymentEvent.raw(
            "INSERT INTO payment_event (connection, event_id, status, amount_minor, currency, outcome, body,"
            " received_at) VALUES ({}, {}, {}, {}, {}, '', {}, {}) ON CONFLICT (connection, event_id) DO NOTHING"
            " RETURNING id",
            connection_id,
            n.event_id[:200],
            str(n.status or ""),
            n.amount.minor if n.amount else None,
            n.currency,
            raw.decode("utf-8", "replace")[:20000],
            now,
        )
        if not stored:
            return  # the same event again: already handled, answer as before
        payment = await Payment.raw(
            'SELECT id, status, amount_minor, currency, "order",'
            " (SELECT code FROM payment_connection c WHERE c.id = payment.connection) AS gateway"
            " FROM payment WHERE connection = {} AND"
            " (provider_payment_id = {} OR ref = {}) ORDER BY id LIMIT 1 FOR UPDATE",
            connection_id,
            n.provider_payment_id or "",
            n.payment_ref or "",
        )
        outcome = await _outcome(payment[0] if payment else None, n, now)
        await PaymentEvent.update(
            {PaymentEvent.outcome: outcome, PaymentEvent.payment: payment[0]["id"] if payment else None}
        ).where(PaymentEvent.id == stored[0]["id"])


async def _outcome(payment: Mapping | None, n: Notification, now: datetime) -> str:
    if payment is None:
        logger.warning("notification %s names no payment of this connection", n.event_id)
        return "unknown_payment"
    if n.amount is not None and (n.amount.minor != payment["amount_minor"] or n.currency != payment["currency"]):
        logger.warning(
            "notification %s: amount %s %s does not match the payment's %s %s",
            n.event_id,
            n.amount.minor,
            n.currency,
            payment["amount_minor"],
            payment["currency"],
        )
        return "mismatch"
    status = str(n.status) if n.status else ""
    if payment["status"] in FINAL or status in ("", "pending") or status == payment["status"]:
        return "ignored"  # statuses only move forward
    values = {Payment.status: status, Payment.updated_at: now, Payment.next_check_at: None}
    if status == str(PaymentStatus.SUCCEEDED):
        values[Payment.paid_at] = now
    await Payment.update(values).where(Payment.id == payment["id"])
    order = await orders.get(payment["order"])
    kind = PAID if status == str(PaymentStatus.SUCCEEDED) else "payment_" + status
    await customers.add_event(
        order["customer"],
        kind,
        order_id=order["id"],
        data={"amount_minor": payment["amount_minor"], "currency": payment["currency"]},
    )
    if status == str(PaymentStatus.SUCCEEDED) or status in ("failed", "canceled"):
        await outbox.emit(
            outbox.PAYMENT_RECEIVED if status == str(PaymentStatus.SUCCEEDED) else outbox.PAYMENT_FAILED,
            order_id=order["id"],
            customer_id=order["customer"],
            data={"amount_minor": payment["amount_minor"], "gateway": payment.get("gateway", "")},
        )
    return "applied"


async def payments_of(order_id: int) -> list[dict]:
    return (
        await Payment.select(
            Payment.id,
            Payment.ref,
            Payment.status,
            Payment.amount_minor,
            Payment.currency,
            Payment.paid_at,
            Payment.refunded_minor,
            Payment.connection.code.as_alias("code"),
            Payment.connection.name.as_alias("name"),
        )
        .where(Payment.order == order_id)
        .order_by(Payment.id)
    )


async def list_connections(active_only: bool = False) -> list[dict]:
    query = PaymentConnection.select(
        PaymentConnection.id,
        PaymentConnection.code,
        PaymentConnection.name,
        PaymentConnection.test_mode,
        PaymentConnection.active,
    )
    if active_only:
        query = query.where(PaymentConnection.active.eq(True))
    return await query.order_by(PaymentConnection.id)


def gateways() -> list[dict]:
    """The registry as the settings screen shows it (names and labels are msgids)."""
    return describe()


@dataclass(frozen=True)
class SandboxCheckout:
    connection_id: int
    amount_minor: int
    currency: str
    description: str
    return_url: str
    succeeds: bool


async def _sandbox(query: Mapping[str, str], keys: Keys) -> tuple[dict, SandboxGateway, SandboxPage]:
    notify = query.get("notify_url", "")
    connection_id = notify.rstrip("/").rsplit("/", 1)[-1]
    if not connection_id.isdigit():
        raise NotFound(_("This payment does not exist."))
    row = await connection(int(connection_id))
    gateway = gateway_for(row, keys)
    if not isinstance(gateway, SandboxGateway):
        raise NotFound(_("This payment does not exist."))
    try:
        page = gateway.verify_page(query)
    except SignatureInvalid:
        raise NotFound(_("This payment does not exist.")) from None
    return row, gateway, page


async def sandbox_checkout(query: Mapping[str, str], keys: Keys) -> SandboxCheckout:
    """The demo gateway's hosted page: what it asks the shopper to pay (signed by us, checked here)."""
    row, _gateway, page = await _sandbox(query, keys)
    return SandboxCheckout(
        row["id"],
        page.amount.minor,
        page.amount.currency,
        page.description,
        page.return_url,
        page.outcome == PaymentStatus.SUCCEEDED,
    )


async def sandbox_pay(query: Mapping[str, str], keys: Keys, *, decline: bool = False) -> str:
    """The shopper pressed Pay on the sandbox page: notify as a real gateway would; returns the return URL."""
    row, gateway, page = await _sandbox(query, keys)
    status = PaymentStatus.FAILED if decline else page.outcome
    body, headers = gateway.build_notification(
        provider_payment_id=page.provider_payment_id, payment_ref=page.payment_ref, amount=page.amount, status=status
    )
    await handle_notification(row["id"], body, headers, {}, keys=keys)
    return page.return_url


async def reconcile_due(keys: Keys, *, now: datetime | None = None, limit: int = 50) -> int:
    """Ask the gateway about pending payments whose check is due, with backoff; returns how many settled.

    A shopper who never comes back still gets the order marked paid once the gateway says so.
    """
    now = now or datetime.now(UTC)
    due = (
        await Payment.select(Payment.id, Payment.connection, Payment.provider_payment_id, Payment.ref, Payment.attempts)
        .where(
            (Payment.status == "pending") & (Payment.next_check_at <= now) & Payment.provider_payment_id.is_not_null()
        )
        .order_by(Payment.next_check_at)
        .limit(limit)
    )
    settled = 0
    for payment in due:
        row = await connection(payment["connection"])
        try:
            async with gateway_for(row, keys) as gateway:
                result = await gateway.fetch_status(payment["provider_payment_id"], payment_ref=payment["ref"])
        except (GatewayUnavailable, NotSupported):
            result = None
        if result is not None and str(result.status) not in ("pending", "waiting_capture"):
            notification = Notification(
                True,
                f"reconcile:{payment['id']}:{result.status}",
                NotificationKind.PAYMENT,
                result.status,
                payment["provider_payment_id"],
                payment["ref"],
                result.amount,
            )
            await _apply(row["id"], notification, b"")
            settled += 1
            continue
        backoff = timedelta(minutes=min(2 ** payment["attempts"], 360))
        await Payment.update({Payment.attempts: payment["attempts"] + 1, Payment.next_check_at: now + backoff}).where(
            Payment.id == payment["id"]
        )
    return settled


def receipt_for(order: Mapping) -> Receipt | None:
    """A 54-FZ receipt from the order lines and delivery (RUB orders without a discount; else none)."""
    if order["currency"] != "RUB" or order["discount_minor"]:
        return None
    items = [
        ReceiptItem(
            line["name"][:128],
            Decimal(line["quantity"]),
            Money(line["price_minor"], "RUB"),
            Money(line["total_minor"], "RUB"),
        )
        for line in order["lines"]
    ]
    if order["delivery_minor"]:
        price = Money(order["delivery_minor"], "RUB")
        items.append(
            ReceiptItem(
                (order["delivery_name"] or _("Delivery"))[:128], Decimal(1), price, price, payment_subject="service"
            )
        )
    receipt = Receipt(tuple(items), email=order["email"], phone=order["phone"])
    return receipt if receipt.matches(Money(order["total_minor"], "RUB")) else None


async def refund(payment_id: int, amount_minor: int, *, keys: Keys, actor: str) -> dict:
    """Refund part or all of a paid payment; several refunds may follow, never more than was paid.

    Raises:
        ValidationFailed: the amount is not positive or exceeds what is left to refund.
        NotFound: no such payment.
    """
    key = uuid.uuid4().hex
    async with store_transaction():
        rows = await Payment.raw(
            'SELECT id, status, amount_minor, refunded_minor, currency, provider_payment_id, ref, connection, "order"'
            " FROM payment WHERE id = {} FOR UPDATE",
            payment_id,
        )
        if not rows:
            raise NotFound(_("This payment does not exist."))
        payment = rows[0]
        left = payment["amount_minor"] - payment["refunded_minor"]
        if payment["status"] not in ("succeeded", "partially_refunded") or not 0 < amount_minor <= left:
            raise ValidationFailed({"amount": _("Refund from 0.01 up to what is left of the payment.")})
        await Payment.update({Payment.refunded_minor: payment["refunded_minor"] + amount_minor}).where(
            Payment.id == payment_id
        )  # reserved now: a concurrent refund sees the smaller remainder
        await Refund.insert(
            Refund(
                payment=payment_id,
                amount_minor=amount_minor,
                idempotency_key=key,
                actor=actor,
                created_at=datetime.now(UTC),
            )
        )
    row = await connection(payment["connection"])
    request = RefundRequest(
        payment["provider_payment_id"], Money(amount_minor, payment["currency"]), key, payment_ref=payment["ref"]
    )
    try:
        async with gateway_for(row, keys) as gateway:
            result = await gateway.refund(request)
    except GatewayUnavailable:
        await Refund.update({Refund.status: "unknown"}).where(Refund.idempotency_key == key)
        message = _("The payment system did not answer; check the refund before retrying.")
        raise ValidationFailed({"amount": message}) from None
    except GatewayError as exc:
        async with store_transaction():
            await Refund.update({Refund.status: "failed"}).where(Refund.idempotency_key == key)
            await Payment.raw(
                "UPDATE payment SET refunded_minor = refunded_minor - {} WHERE id = {}", amount_minor, payment_id
            )
        raise ValidationFailed({"amount": _(exc.message)}) from None
    refunded = payment["refunded_minor"] + amount_minor
    status = "refunded" if refunded >= payment["amount_minor"] else "partially_refunded"
    await Refund.update({Refund.status: result.status, Refund.provider_refund_id: result.refund_id}).where(
        Refund.idempotency_key == key
    )
    await Payment.update({Payment.status: status, Payment.updated_at: datetime.now(UTC)}).where(
        Payment.id == payment_id
    )
    order = await orders.get(payment["order"])
    await customers.add_event(
        order["customer"],
        "refunded",
        order_id=order["id"],
        data={"amount_minor": amount_minor, "currency": payment["currency"]},
    )
    return {"status": status, "refunded_minor": refunded}
