"""Payments: gateway connections (credentials encrypted), starting a payment, and the notification pipeline.

The pipeline verifies the raw bytes first, stores each gateway event once, locks the payment row, checks
amount and currency, moves the status forward only, and answers the gateway only after the commit.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app import crypto
from app.errors import Conflict, NotFound, Refused, Unavailable, ValidationFailed
from app.forms import rules
from app.gateways.base import (
    ROUTE_KIND,
    Capability,
    ConfigInvalid,
    ErrorCode,
    Gateway,
    GatewayError,
    GatewayResult,
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
    StepKind,
)
from app.gateways.registry import describe, gateway_class, get_gateway
from app.gateways.sandbox import SandboxGateway, SandboxPage
from app.i18n import format_date, format_money, use_locale
from app.i18n import gettext as _
from app.services import audit, balances, customers, invoices, orders, outbox, receipts, stores
from app.services.imports.values import MAX_MONEY_MINOR
from app.services.receipts import LineTax, OrderTax
from app.tables.control import Tenant
from app.tables.orders import Order, OrderChange
from app.tables.payments import Payment, PaymentConnection, PaymentEvent, Refund
from app.tenancy.runtime import current_tenant, store_transaction

logger = logging.getLogger(__name__)
# What a gateway's parser raises on a body that is not what it expects (bad JSON, XML, form or text).
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError, SyntaxError)
PURPOSE = "gateway-config"
PAID = "paid"
OPEN = ("pending", "waiting_capture")  # statuses reconciliation asks the gateway about
# Forward-only moves. A failed attempt may still succeed: the shopper can retry on the same hosted page.
FORWARD = {
    "pending": frozenset({"waiting_capture", "succeeded", "failed", "canceled"}),
    "waiting_capture": frozenset({"succeeded", "failed", "canceled"}),
    "failed": frozenset({"succeeded"}),
}
# Outcomes that leave the event id free for the notification that follows (the amount did not match).
KEEP_ID_FREE = frozenset({"mismatch", "check_amount"})
# What a CHECK notification's outcome tells the gateway (None: go ahead).
REFUSALS = {"check_ok": None, "unknown_payment": "unknown_payment", "check_amount": "amount"}
# Gateways that move no money: always in test mode, whatever a form or the CLI asks (a "live" sandbox would let
# any shopper mark their own order paid).
TEST_ONLY = frozenset({"sandbox"})


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
    names: Mapping[str, str] | None = None,
    test_mode: bool = True,
    base_url: str | None = None,
    actor_id: int | None = None,
    actor: str = "",
) -> int:
    """Store a connection to a gateway; credentials are encrypted, never shown back and never audited.

    ``names`` are the names shown to shoppers per language (``name`` is the fallback). A test-only gateway
    (the sandbox) is stored in test mode whatever ``test_mode`` says.

    Raises:
        ValidationFailed: unknown gateway or settings it refuses.
    """
    try:
        cls = gateway_class(code)
        fields = {field.name for field in cls.config_fields}
        config = cls.validate_config({key: value for key, value in values.items() if key in fields and value})
    except ConfigInvalid as exc:
        raise ValidationFailed({key: _(str(message)) for key, message in exc.errors.items()}) from None
    test_mode = test_mode or code in TEST_ONLY
    names = {loc: value for loc, value in (names or {}).items() if value}
    name = name or names.get("en") or next(iter(names.values()), "")
    async with store_transaction():
        rows = await PaymentConnection.insert(
            PaymentConnection(
                code=code,
                name=name or _(cls.display_name),
                names=names,
                config_encrypted=crypto.encrypt(keys.secret_key, PURPOSE, json.dumps(config)),
                test_mode=test_mode,
                base_url=base_url,
                active=True,
                created_at=datetime.now(UTC),
            )
        ).returning(PaymentConnection.id)
        await audit.record(
            "settings", f"payment:{rows[0]['id']}", "connect", actor_id=actor_id, actor=actor,
            summary=name or _(cls.display_name), after={"gateway": code, "test_mode": test_mode},
        )  # fmt: skip
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
    test_mode = row["test_mode"] or row["code"] in TEST_ONLY
    return get_gateway(row["code"], config, test_mode=test_mode, base_url=base_url)


def hook_url(keys: Keys, code: str, connection_id: int) -> str:
    return f"{keys.public_url.rstrip('/')}/hooks/{current_tenant().slug}/{code}/{connection_id}"


REUSE_FOR = timedelta(minutes=30)  # a pending payment's hosted page is offered again for this long


def _step_json(step: ShopperStep) -> dict:
    return {
        "kind": str(step.kind),
        "url": step.url,
        "fields": [list(pair) for pair in step.fields],
        "widget": dict(step.widget),
        "instructions": dict(step.instructions),
    }


def _step_of(stored: Mapping) -> ShopperStep:
    return ShopperStep(
        StepKind(stored["kind"]),
        stored.get("url"),
        tuple((str(name), str(value)) for name, value in stored.get("fields") or ()),
        stored.get("widget") or {},
        stored.get("instructions") or {},
    )


async def _reusable(order_id: int, connection_id: int, amount_minor: int, now: datetime) -> dict | None:
    """The order's pending payment of this connection for this amount, started recently, if there is one."""
    return (
        await Payment.select(Payment.id, Payment.ref, Payment.idempotency_key, Payment.shopper_step, Payment.attempts)
        .where(
            (Payment.order == order_id)
            & (Payment.connection == connection_id)
            & (Payment.amount_minor == amount_minor)
            & (Payment.status == "pending")
            & (Payment.created_at > now - REUSE_FOR)
        )
        .order_by(Payment.id, ascending=False)
        .output(load_json=True)
        .first()
    )


async def _new_payment(order: Mapping, connection_id: int, amount_minor: int, now: datetime) -> dict:
    ref = str((await Payment.raw("SELECT nextval('payment_ref_seq') AS n"))[0]["n"])
    key = uuid.uuid4().hex
    rows = await Payment.insert(
        Payment(
            order=order["id"],
            connection=connection_id,
            ref=ref,
            idempotency_key=key,
            status="pending",
            amount_minor=amount_minor,
            currency=order["currency"],
            created_at=now,
            updated_at=now,
            next_check_at=now,
        )
    ).returning(Payment.id)
    return {"id": rows[0]["id"], "ref": ref, "idempotency_key": key, "shopper_step": None, "attempts": 0}


def _payment_request(
    order: Mapping, row: Mapping, payment: Mapping, amount_minor: int, keys: Keys, tax: OrderTax | None = None
) -> PaymentRequest:
    with_receipt = Capability.RECEIPTS in gateway_class(row["code"]).capabilities
    return PaymentRequest(
        payment_ref=payment["ref"],
        order_number=order["number"],
        idempotency_key=payment["idempotency_key"],
        amount=Money(amount_minor, order["currency"]),
        description=_("Order %(number)s", number=order["number"]),
        return_url=f"{keys.public_url.rstrip('/')}/f/{current_tenant().slug}/o/{order['token']}",
        notify_url=hook_url(keys, row["code"], row["id"]),
        customer_email=order["email"],
        customer_phone=order["phone"],
        locale=order["locale"],
        receipt=receipt_for(order, amount_minor, tax) if with_receipt else None,
    )


async def start(order_token: str, connection_id: int, *, keys: Keys) -> ShopperStep:
    """Start paying what is due on the order (its balance, not its total); one payment at a time.

    Under the order's row lock, so double clicks and parallel tabs queue: the second finds the first one's
    pending payment (same connection and amount) and gets its stored step back, without a second call to the
    gateway. A pending payment whose call had no answer is sent again with its own idempotency key.

    Raises:
        NotFound: no such order, or the connection is not active.
        Conflict: nothing is due on the order, or it is cancelled.
        Unavailable: the gateway did not answer (the payment stays pending for reconciliation).
        ValidationFailed: the gateway refused the payment.
    """
    order = await orders.by_token(order_token)
    row = await connection(connection_id)
    if not row["active"]:
        raise NotFound(_("This payment connection does not exist."))
    now = datetime.now(UTC)
    problem: Exception | None = None
    async with store_transaction():
        await Order.raw("SELECT id FROM orders WHERE id = {} FOR UPDATE", order["id"])
        # Held to the commit: a connection disabled or deleted meanwhile starts nothing (and a delete waits).
        if not await PaymentConnection.raw(
            "SELECT id FROM payment_connection WHERE id = {} AND active FOR KEY SHARE", connection_id
        ):
            raise NotFound(_("This payment connection does not exist."))
        order = await orders.get(order["id"])  # as it is now that concurrent starts and edits are queued
        due = (await balances.of_order(order)).due_minor
        if due <= 0 or order["status_group"] == "cancel":
            raise Conflict(_("Nothing is due on this order."))
        payment = await _reusable(order["id"], connection_id, due, now)
        if payment is not None and payment["shopper_step"]:
            return _step_of(payment["shopper_step"])
        if payment is None:
            payment = await _new_payment(order, connection_id, due, now)
            await _store_due_by(now)
        request = _payment_request(order, row, payment, due, keys, await receipts.order_tax(order))
        try:
            async with gateway_for(row, keys) as gateway:
                result = await gateway.create_payment(request)
        except GatewayUnavailable:
            # Outcome unknown: the payment stays pending; the next Pay or reconciliation asks again.
            problem = Unavailable(_("The payment system did not answer. Try again in a minute."))
        except GatewayError as exc:
            await Payment.update({Payment.status: "failed", Payment.next_check_at: None}).where(
                Payment.id == payment["id"]
            )
            problem = ValidationFailed({"__all__": _(exc.message)})
        else:
            assert result.shopper_step is not None
            await Payment.update(
                {
                    Payment.provider_payment_id: result.provider_payment_id,
                    Payment.attempts: payment["attempts"] + 1,
                    Payment.shopper_step: _step_json(result.shopper_step),
                    Payment.receipt: receipts.as_data(request.receipt),
                    Payment.receipt_status: receipts.status_of(result.raw, request.receipt),
                }
            ).where(Payment.id == payment["id"])
            await customers.add_event(
                order["customer"],
                customers.PAYMENT_TRIED,
                order_id=order["id"],
                data={"amount_minor": due, "currency": order["currency"], "gateway": row["code"]},
            )
    if problem is not None:
        raise problem
    return result.shopper_step


def hook_urls(keys: Keys, code: str, connection_id: int) -> list[tuple[str, str]]:
    """The notification addresses to paste into the gateway's cabinet: one, or one per type (CloudPayments)."""
    base = hook_url(keys, code, connection_id)
    kinds = gateway_class(code).notification_kinds
    return [(kind, f"{base}/{kind}") for kind in kinds] or [("", base)]


async def handle_notification(
    connection_id: int,
    raw: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    *,
    keys: Keys,
    kind: str | None = None,
) -> tuple[int, str, bytes]:
    """Verify, store once, apply under a row lock; returns the answer the gateway expects.

    ``kind`` is the notification type from the hook's route, for gateways with one URL per type.

    Raises:
        Refused: a forged or damaged notification, or one at an address not of its type (nothing is stored).
        Unavailable: the gateway could not confirm an unsigned notification now (it retries later).
    """
    row = await connection(connection_id)
    if b"\x00" in raw:
        raise Refused(_("The notification could not be read."))
    query = {key: value for key, value in query.items() if key != ROUTE_KIND}
    if kind is not None:
        query[ROUTE_KIND] = kind
    async with gateway_for(row, keys) as gateway:
        if gateway.notification_kinds and kind not in gateway.notification_kinds:
            raise Refused(_("The notification address names no notification type."))
        try:
            notification = await gateway.receive_notification(raw, headers, query)
        except SignatureInvalid:
            raise Refused(_("The notification's signature is not valid.")) from None
        except NotSupported:  # offline methods: nobody may notify about them
            raise Refused(_("This payment method takes no notifications.")) from None
        except UNREADABLE:  # junk a gateway's parser choked on: the sender gets a 400, never a 500
            raise Refused(_("The notification could not be read.")) from None
        except GatewayError as exc:  # a lookup the notification needs failed: the gateway sends it again
            logger.warning("notification not read: the gateway's lookup failed: %s", exc.code)
            raise Unavailable(_("The payment system did not answer. Try again in a minute.")) from None
        if any(
            rules.has_forbidden(str(value or ""))
            for value in (notification.event_id, notification.provider_payment_id, notification.payment_ref)
        ) or not all(0 <= (money.minor if money else 0) <= MAX_MONEY_MINOR
                     for money in (notification.amount, notification.refunded_total)):  # fmt: skip
            raise Refused(_("The notification could not be read."))
        if not notification.verified:
            notification = await _confirmed(gateway, connection_id, notification)
        outcome = await _apply(connection_id, notification, raw)
        if notification.kind is NotificationKind.CHECK:
            return gateway.check_answer(notification, REFUSALS.get(outcome, "rejected"))
        if notification.status is PaymentStatus.WAITING_CAPTURE and notification.kind is NotificationKind.PAYMENT:
            await _capture_approved(gateway, connection_id, notification.provider_payment_id, notification.payment_ref)
        return gateway.notification_response(notification)


VERIFY_EVERY = timedelta(minutes=1)


async def _confirmed(gateway: Gateway, connection_id: int, n: Notification) -> Notification:
    """Believe an unverified notification only as far as the gateway confirms it when asked.

    The gateway is asked only about a payment of ours, and at most once a minute per payment, so forged
    notifications cannot make us spend the store's API quota; a notification about no payment of ours is
    stored as unconfirmed and changes nothing.

    Raises:
        Unavailable: asked less than a minute ago, or the gateway failed (the gateway retries, or
            reconciliation settles the payment).
    """
    now = datetime.now(UTC)
    # Stored for the record only: no status, and no transaction id to adopt for the payment.
    unconfirmed = replace(
        n, verified=True, event_id=f"{n.event_id}|unconfirmed", kind=NotificationKind.INFO, status=None,
        provider_payment_id=None,
    )  # fmt: skip
    known = await Payment.select(Payment.id).where(
        (Payment.connection == connection_id)
        & ((Payment.provider_payment_id == (n.provider_payment_id or "")) | (Payment.ref == (n.payment_ref or "")))
    ).first()  # fmt: skip
    if known is None or not n.provider_payment_id:  # not ours: never worth a call to the gateway
        return unconfirmed
    asked = await Payment.raw(
        "UPDATE payment SET verified_at = {} WHERE id = {} AND (verified_at IS NULL OR verified_at <= {}) RETURNING id",
        now,
        known["id"],
        now - VERIFY_EVERY,
    )
    if not asked:
        raise Unavailable(_("This payment was checked a moment ago. Try again in a minute."))
    try:
        result = await gateway.fetch_status(n.provider_payment_id)
    except GatewayUnavailable:
        await Payment.update({Payment.verified_at: None}).where(Payment.id == known["id"])
        raise Unavailable(_("The payment system did not answer. Try again in a minute.")) from None
    except GatewayError as exc:
        logger.warning("notification %s not confirmed by the gateway: %s", n.event_id, exc.code)
        return unconfirmed
    if n.kind is NotificationKind.REFUND:
        # A refund is believed as far as the payment's refunded total at the gateway covers it.
        if result.refunded is None:
            return unconfirmed
        confirmed_id = f"{n.event_id}|{result.refunded.minor}"
        return replace(n, verified=True, event_id=confirmed_id, refunded_total=result.refunded)
    # The confirmed status is part of the event's identity: a forged "succeeded" that the gateway denied
    # must not block the genuine one that comes later.
    return replace(
        n, verified=True, event_id=f"{n.event_id}|{result.status}", status=result.status,
        amount=result.amount or n.amount,
    )  # fmt: skip


async def _capture_approved(gateway: Gateway, connection_id: int, provider_id: str | None, ref: str | None) -> None:
    """Our payments ask for the money at once: an order only approved (PayPal) is captured, then credited.

    The capture's key is derived from the payment's stored key, so a repeated webhook, the shopper's return
    and reconciliation all send the same request and the money is taken once.
    """
    if Capability.CAPTURE not in gateway.capabilities:
        return
    payment = (
        await Payment.select(
            Payment.id, Payment.status, Payment.provider_payment_id, Payment.ref, Payment.idempotency_key
        )
        .where(
            (Payment.connection == connection_id)
            & ((Payment.provider_payment_id == (provider_id or "")) | (Payment.ref == (ref or "")))
        )
        .first()
    )
    if payment is None or payment["status"] != "waiting_capture" or not payment["provider_payment_id"]:
        return
    try:
        result = await gateway.capture(
            payment["provider_payment_id"], idempotency_key=f"{payment['idempotency_key']}-capture"
        )
    except GatewayError as exc:
        logger.warning("capture of payment %s not done yet (reconciliation retries): %s", payment["id"], exc.code)
        return
    notification = Notification(
        True,
        f"capture:{payment['id']}:{result.status}",
        NotificationKind.PAYMENT,
        result.status,
        payment["provider_payment_id"],
        payment["ref"],
        result.amount,
    )
    await _apply(connection_id, notification, b"")


async def _apply(connection_id: int, n: Notification, raw: bytes) -> str:
    """Store the event once and apply it under the payment's row lock; returns the outcome (stored too)."""
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
            # The same event again: already handled; answer as before.
            prior = (
                await PaymentEvent.select(PaymentEvent.outcome)
                .where((PaymentEvent.connection == connection_id) & (PaymentEvent.event_id == n.event_id[:200]))
                .first()
            )
            return prior["outcome"] if prior else "duplicate"
        payment = await Payment.raw(
            'SELECT id, status, amount_minor, refunded_minor, currency, "order", provider_payment_id,'
            " (SELECT code FROM payment_connection c WHERE c.id = payment.connection) AS gateway"
            " FROM payment WHERE connection = {} AND (provider_payment_id = {} OR ref = {})"
            " ORDER BY id LIMIT 1 FOR UPDATE",
            connection_id,
            n.provider_payment_id or "",
            n.payment_ref or "",
        )
        outcome = await _outcome(payment[0] if payment else None, n, now)
        values = {PaymentEvent.outcome: outcome, PaymentEvent.payment: payment[0]["id"] if payment else None}
        if outcome in KEEP_ID_FREE:
            # Kept for the record under another id: a genuine notification with the same event id may follow
            # (Robokassa names its event by InvId alone), and it must not be taken for a duplicate.
            values[PaymentEvent.event_id] = f"{n.event_id[:150]}|{outcome}|{stored[0]['id']}"
        await PaymentEvent.update(values).where(PaymentEvent.id == stored[0]["id"])
    return outcome


def _amount_differs(payment: Mapping, n: Notification) -> bool:
    if n.amount is None or (n.amount.minor == payment["amount_minor"] and n.currency == payment["currency"]):
        return False
    logger.warning(
        "notification %s: amount %s %s does not match the payment's %s %s",
        n.event_id,
        n.amount.minor,
        n.currency,
        payment["amount_minor"],
        payment["currency"],
    )
    return True


async def _outcome(payment: Mapping | None, n: Notification, now: datetime) -> str:
    if payment is None:
        logger.warning("notification %s names no payment of this connection", n.event_id)
        return "unknown_payment"
    if n.kind is NotificationKind.CHECK:  # "may the shopper pay?": changes nothing
        if _amount_differs(payment, n):
            return "check_amount"
        return "check_ok" if payment["status"] in ("pending", "failed") else "check_rejected"
    if n.kind is NotificationKind.REFUND:
        return await _refund_noted(payment, n, now)
    if _amount_differs(payment, n):
        return "mismatch"
    status = str(n.status) if n.status else ""
    moves = status in FORWARD.get(payment["status"], ())
    # Some gateways (CloudPayments) name a transaction only once the shopper pays, and a declined card and
    # the card that paid are two transactions: keep the one that holds the money.
    takes_money = moves and status in ("succeeded", "waiting_capture")
    if n.provider_payment_id and n.provider_payment_id != payment["provider_payment_id"]:  # noqa: SIM102
        if not payment["provider_payment_id"] or takes_money:
            await Payment.update({Payment.provider_payment_id: n.provider_payment_id[:128]}).where(
                Payment.id == payment["id"]
            )
    if not moves:
        return "ignored"  # statuses only move forward
    values = {Payment.status: status, Payment.updated_at: now}
    if status != "waiting_capture":
        values[Payment.next_check_at] = None
    if status == str(PaymentStatus.SUCCEEDED):
        values[Payment.paid_at] = now
    await Payment.update(values).where(Payment.id == payment["id"])
    if status != "waiting_capture":
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


async def _refund_noted(payment: Mapping, n: Notification, now: datetime) -> str:
    """A refund the gateway reports: ours are known already; one made in the gateway's cabinet is recorded.

    A refund is matched by the gateway's refund id; a gateway that names no refund reports the payment's
    refunded total instead, and what it exceeds ours by is the cabinet's refund (so a repeated notification,
    or ours echoed back, adds nothing). An unsigned notification counts only up to the total the gateway
    confirmed when asked.
    """
    named = n.amount or n.refunded_total
    if named is not None and named.currency != payment["currency"]:
        return "mismatch"
    refunds = await Refund.select(Refund.id, Refund.amount_minor, Refund.status, Refund.provider_refund_id).where(
        Refund.payment == payment["id"]
    )
    if n.refund_id and any(r["provider_refund_id"] == n.refund_id for r in refunds):
        return "refund_known"
    if payment["status"] not in ("succeeded", "partially_refunded"):
        return "ignored"
    total = n.refunded_total.minor if n.refunded_total is not None else None
    if total is None and n.amount is None and n.status is PaymentStatus.REFUNDED:
        total = payment["amount_minor"]  # "fully refunded", and nothing more (T-Bank REFUNDED)
    if n.refund_id and n.amount is not None:
        in_flight = [
            r
            for r in refunds
            if r["status"] in ("pending", "unknown") and r["amount_minor"] == n.amount.minor
            and not r["provider_refund_id"]
        ]  # fmt: skip
        if in_flight:  # ours, still being asked for: its id is filled in when the gateway answers us
            return "refund_known"
        if total is not None and payment["refunded_minor"] + n.amount.minor > total:
            return "ignored"  # the gateway's own total does not cover it (unsigned, so maybe forged)
        counted = await _name_counted(refunds, n.amount.minor)
        if counted == n.amount.minor:  # already counted in a refunded total (Stripe charge.refunded came first)
            await Refund.insert(_cabinet_refund(payment["id"], n.amount.minor, n.refund_id, now))
            return "refund_known"
        amount, refund_id = n.amount.minor - counted, n.refund_id
    elif total is not None:
        amount, refund_id = total - payment["refunded_minor"], f"total:{total}"
        if amount <= 0:
            return "refund_known"  # ours (reserved before the gateway was asked), or this total again
    else:
        return "ignored"  # without the refund's id or the total it cannot be told apart from ours
    refunded = payment["refunded_minor"] + amount
    if refunded > payment["amount_minor"]:
        return "mismatch"
    named = n.amount.minor if n.refund_id and n.amount is not None else amount
    await Refund.insert(_cabinet_refund(payment["id"], named, refund_id, now))
    status = "refunded" if refunded >= payment["amount_minor"] else "partially_refunded"
    await Payment.update({Payment.refunded_minor: refunded, Payment.status: status, Payment.updated_at: now}).where(
        Payment.id == payment["id"]
    )
    order = await orders.get(payment["order"])
    ref = await Payment.select(Payment.ref).where(Payment.id == payment["id"]).first()
    await _refund_written(order, {**payment, "ref": ref["ref"]}, amount, actor="gateway", actor_id=None, reason="")
    return "refund_recorded"


def _cabinet_refund(payment_id: int, amount_minor: int, refund_id: str, now: datetime) -> Refund:
    return Refund(
        payment=payment_id,
        amount_minor=amount_minor,
        status="succeeded",
        idempotency_key=f"gateway-{uuid.uuid4().hex}",
        provider_refund_id=refund_id[:128],
        actor="gateway",
        created_at=now,
    )


async def _name_counted(refunds: list[dict], amount_minor: int) -> int:
    """A named refund may already be counted in a refunded total: take up to its amount from those totals.

    Returns how much of it was counted already; the total's rows shrink by as much, so the refunds' rows
    still add up to the payment's ``refunded_minor``.
    """
    counted = 0
    for r in refunds:
        if not (r["provider_refund_id"] or "").startswith("total:") or r["amount_minor"] <= 0:
            continue
        take = min(r["amount_minor"], amount_minor - counted)
        await Refund.update({Refund.amount_minor: r["amount_minor"] - take}).where(Refund.id == r["id"])
        counted += take
        if counted == amount_minor:
            break
    return counted


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of "check connection": ``state`` is ok | rejected | unreachable | error."""

    state: str
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


async def check_connection(connection_id: int, *, keys: Keys) -> ConnectionCheck:
    """A cheap authenticated call to the gateway (offline methods and the sandbox check locally).

    Raises:
        NotFound: no such connection in this store.
    """
    row = await connection(connection_id)
    try:
        async with gateway_for(row, keys) as gateway:
            await gateway.check_connection()
    except ConfigInvalid as exc:
        logger.info("connection %s check: %s %s", connection_id, exc.code, exc.detail)
        if exc.code is ErrorCode.INVALID_CREDENTIALS:
            return ConnectionCheck("rejected", _("The payment system rejected the credentials. Check the keys."))
        labels = {f.name: _(f.label) for f in gateway_class(row["code"]).config_fields}
        problems = [f"{labels[k]}: {_(v)}" if k in labels else _(v) for k, v in exc.errors.items()]
        return ConnectionCheck("rejected", " ".join(problems))
    except GatewayUnavailable as exc:
        logger.info("connection %s check: unreachable: %s", connection_id, exc.detail)
        return ConnectionCheck("unreachable", _("The payment system could not be reached. Try again in a few minutes."))
    except GatewayError as exc:
        logger.info("connection %s check: %s %s", connection_id, exc.code, exc.detail)
        return ConnectionCheck("error", _(exc.message))
    return ConnectionCheck("ok", _("The connection works: the payment system accepted the credentials."))


async def payments_of(order_id: int) -> list[dict]:
    rows = (
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
            Payment.receipt,
            Payment.receipt_status,
        )
        .where(Payment.order == order_id)
        .order_by(Payment.id)
        .output(load_json=True)
    )
    return await _with_receipts(rows)


async def _with_receipts(rows: list[dict]) -> list[dict]:
    """Each payment's receipt and its refunds' receipts, readable (``receipt_shown``, ``refund_receipts``)."""
    refunds = []
    if rows:
        refunds = (
            await Refund.select(Refund.payment, Refund.amount_minor, Refund.created_at, Refund.receipt)
            .where(Refund.payment.is_in([row["id"] for row in rows]), Refund.receipt.is_not_null())
            .order_by(Refund.id)
            .output(load_json=True)
        )
    for row in rows:
        row["receipt_shown"] = receipts.shown(row.pop("receipt"), row["receipt_status"])
        row["refund_receipts"] = [
            {**refund, "shown": receipts.shown(refund.pop("receipt"))}
            for refund in refunds
            if refund["payment"] == row["id"]
        ]
    return rows


def choice_labels() -> dict[str, str]:
    """Readable names of the values gateway settings choose from (taxation systems, hash algorithms)."""
    return {
        "osn": _("General taxation (OSN)"),
        "usn_income": _("Simplified, on income (USN 6%)"),
        "usn_income_outcome": _("Simplified, income minus expenses (USN 15%)"),
        "envd": _("Imputed income (ENVD)"),
        "esn": _("Unified agricultural tax (ESHN)"),
        "patent": _("Patent"),
        "one_stage": _("One stage: charged at once"),
        "two_stage": _("Two stages: held, then captured"),
    }


def status_labels() -> dict[str, str]:
    """Payment statuses as staff read them, in the current language."""
    return {
        "pending": _("Awaiting payment"),
        "waiting_capture": _("Approved, not captured yet"),
        "succeeded": _("Paid"),
        "failed": _("Failed"),
        "canceled": _("Cancelled"),
        "refunded": _("Refunded"),
        "partially_refunded": _("Partly refunded"),
    }


async def list_connections(active_only: bool = False) -> list[dict]:
    query = PaymentConnection.select(
        PaymentConnection.id,
        PaymentConnection.code,
        PaymentConnection.name,
        PaymentConnection.names,
        PaymentConnection.test_mode,
        PaymentConnection.active,
    )
    if active_only:
        query = query.where(PaymentConnection.active.eq(True))
    return await query.order_by(PaymentConnection.id).output(load_json=True)


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
    locale: str = "ru"  # the order's language, which the gateway page speaks


async def _sandbox(query: Mapping[str, str], keys: Keys) -> tuple[dict, SandboxGateway, SandboxPage]:
    notify = query.get("notify_url", "")
    connection_id = rules.record_id(notify.rstrip("/").rsplit("/", 1)[-1])
    if connection_id is None:
        raise NotFound(_("This payment does not exist."))
    row = await connection(connection_id)
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
        page.locale,
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
    """Ask the gateway about open payments whose check is due, with backoff; returns how many settled.

    A shopper who never comes back still gets the order marked paid once the gateway says so; an order only
    approved (PayPal) is captured here. Afterwards the store's next due time is written to the control plane.
    """
    now = now or datetime.now(UTC)
    due = (
        await Payment.select(
            Payment.id,
            Payment.connection,
            Payment.provider_payment_id,
            Payment.ref,
            Payment.attempts,
            Payment.status,
        )
        .where(Payment.status.is_in(list(OPEN)) & (Payment.next_check_at <= now))
        .order_by(Payment.next_check_at)
        .limit(limit)
    )
    settled = 0
    for payment in due:
        row = await connection(payment["connection"])
        result = None
        try:
            async with gateway_for(row, keys) as gateway:
                result = await gateway.fetch_status(payment["provider_payment_id"], payment_ref=payment["ref"])
                if result.status is PaymentStatus.WAITING_CAPTURE:
                    await _apply(row["id"], _from_result(payment, result, "reconcile"), b"")
                    await _capture_approved(gateway, row["id"], payment["provider_payment_id"], payment["ref"])
                    settled += (await Payment.select(Payment.status).where(Payment.id == payment["id"]).first())[
                        "status"
                    ] not in OPEN
                    result = None
        except NotSupported:
            # Nothing to ask (offline methods): staff settle these by hand.
            await Payment.update({Payment.next_check_at: None}).where(Payment.id == payment["id"])
            continue
        except GatewayError as exc:
            logger.info("status of payment %s not known yet: %s", payment["id"], exc.code)
        except Exception:  # one broken connection must not stop the store's other payments
            logger.exception("reconciling payment %s failed", payment["id"])
        if result is not None and str(result.status) not in OPEN:
            await _apply(row["id"], _from_result(payment, result, "reconcile"), b"")
            await receipts.note_status(payment["id"], result.raw)
            settled += 1
            continue
        if (await Payment.select(Payment.status).where(Payment.id == payment["id"]).first())["status"] in OPEN:
            backoff = timedelta(minutes=min(2 ** payment["attempts"], 360))
            await Payment.update(
                {Payment.attempts: payment["attempts"] + 1, Payment.next_check_at: now + backoff}
            ).where(Payment.id == payment["id"])
    await _reschedule_store()
    return settled


def _from_result(payment: Mapping, result: GatewayResult, source: str) -> Notification:
    return Notification(
        True,
        f"{source}:{payment['id']}:{result.status}",
        NotificationKind.PAYMENT,
        result.status,
        result.provider_payment_id or payment["provider_payment_id"],
        payment["ref"],
        result.amount,
    )


async def settle_return(order_token: str, provider_payment_id: str, *, keys: Keys) -> None:
    """The shopper came back from the gateway (PayPal adds ``?token=<order id>``): ask the gateway, and capture
    an approved order. The return itself proves nothing; only the gateway's answer moves the payment."""
    order = await orders.by_token(order_token)
    payment = (
        await Payment.select(Payment.id, Payment.connection, Payment.provider_payment_id, Payment.ref, Payment.status)
        .where(
            (Payment.order == order["id"])
            & (Payment.provider_payment_id == provider_payment_id)
            & Payment.status.is_in(list(OPEN))
        )
        .first()
    )
    if payment is None:
        return
    row = await connection(payment["connection"])
    try:
        async with gateway_for(row, keys) as gateway:
            if Capability.STATUS_QUERY not in gateway.capabilities:
                return
            result = await gateway.fetch_status(provider_payment_id, payment_ref=payment["ref"])
            await _apply(row["id"], _from_result(payment, result, "return"), b"")
            await receipts.note_status(payment["id"], result.raw)
            if result.status is PaymentStatus.WAITING_CAPTURE:
                await _capture_approved(gateway, row["id"], provider_payment_id, payment["ref"])
    except GatewayError as exc:  # the page still shows; reconciliation settles it later
        logger.info("status on return for payment %s not known: %s", payment["id"], exc.code)


async def _next_check() -> datetime | None:
    rows = await Payment.raw(
        "SELECT min(next_check_at) AS due FROM payment WHERE status IN ('pending', 'waiting_capture')"
    )
    return rows[0]["due"] if rows else None


async def _store_due_by(when: datetime) -> None:
    """Make sure the control plane visits this store by ``when`` (never postpones an earlier visit)."""
    await Tenant.raw(
        "UPDATE tenant SET payments_due_at = LEAST(COALESCE(payments_due_at, {}), {}) WHERE id = {}",
        when,
        when,
        current_tenant().id,
    )


async def _reschedule_store() -> None:
    """Write the store's next reconciliation time; then look again, so a payment started meanwhile is kept."""
    due = await _next_check()
    await Tenant.update({Tenant.payments_due_at: due}).where(Tenant.id == current_tenant().id)
    again = await _next_check()
    if again is not None and (due is None or again < due):
        await _store_due_by(again)


async def due_stores(now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Slugs of active stores with a payment check due (control plane only: no store database is opened)."""
    rows = (
        await Tenant.select(Tenant.slug)
        .where((Tenant.payments_due_at <= (now or datetime.now(UTC))) & (Tenant.status == "active"))
        .order_by(Tenant.payments_due_at)
        .limit(limit)
    )
    return [row["slug"] for row in rows]


async def confirm_offline(payment_id: int, *, actor: str) -> None:
    """Staff confirm that an offline payment (cash, bank transfer) arrived: it is credited like a notification.

    Raises:
        NotFound: no such payment.
        ValidationFailed: not an offline payment awaiting money.
    """
    payment = await Payment.select(
        Payment.id, Payment.status, Payment.ref, Payment.provider_payment_id, Payment.amount_minor, Payment.currency,
        Payment.connection.id.as_alias("connection_id"), Payment.connection.code.as_alias("code"),
    ).where(Payment.id == payment_id).first()  # fmt: skip
    if payment is None:
        raise NotFound(_("This payment does not exist."))
    if Capability.OFFLINE not in gateway_class(payment["code"]).capabilities or payment["status"] != "pending":
        raise ValidationFailed({"payment": _("Only an offline payment awaiting money can be confirmed.")})
    notification = Notification(
        True,
        f"manual:{payment_id}",
        NotificationKind.PAYMENT,
        PaymentStatus.SUCCEEDED,
        payment["provider_payment_id"],
        payment["ref"],
        Money(payment["amount_minor"], payment["currency"]),
    )
    await _apply(payment["connection_id"], notification, json.dumps({"confirmed_by": actor}).encode())


async def bank_invoice(
    order_token: str, connection_id: int, *, keys: Keys, locale: str | None = None
) -> tuple[str, bytes]:
    """The PDF invoice of a bank-transfer connection for an order: (file name, bytes), in ``locale``, else
    the language the order was placed in.

    Raises:
        NotFound: no such order, or the connection is not an active bank transfer of this store.
    """
    order = await orders.by_token(order_token)
    row = await connection(connection_id)
    if row["code"] != "bank_transfer" or not row["active"]:
        raise NotFound(_("This payment does not exist."))
    config = json.loads(crypto.decrypt(keys.secret_key, PURPOSE, row["config_encrypted"]))
    cls = gateway_class("bank_transfer")
    store = current_tenant()
    with use_locale(locale or order["locale"] or store.locale):
        labels = {f.name: _(f.label) for f in cls.config_fields}
        names = ("recipient", "inn", "kpp", "account", "bank_name", "bik", "correspondent_account", "swift")
        purpose = (config.get("purpose") or "").replace("{order_number}", order["number"])
        lines = [
            invoices.InvoiceLine(
                line["name"],
                line["quantity"],
                format_money(line["price_minor"], order["currency"]),
                format_money(line["total_minor"], order["currency"]),
            )
            for line in order["lines"]
        ]
        if order["delivery_minor"]:
            delivery = format_money(order["delivery_minor"], order["currency"])
            lines.append(invoices.InvoiceLine(order["delivery_name"] or _("Delivery"), 1, delivery, delivery))
        if order["discount_minor"]:
            discount = "−" + format_money(order["discount_minor"], order["currency"])
            lines.append(invoices.InvoiceLine(_("Discount"), 1, discount, discount))
        invoice = invoices.Invoice(
            number=order["number"],
            date=format_date(order["created_at"], zone=await stores.store_timezone()),
            store_name=store.name,
            customer=order["customer_name"] or "",
            requisites=tuple((labels[name], config[name]) for name in names if config.get(name)),
            purpose=purpose or _("Order %(number)s", number=order["number"]),
            lines=tuple(lines),
            total=format_money(order["total_minor"], order["currency"]),
        )
        return f"invoice-{order['number']}.pdf", invoices.invoice_pdf(invoice)


def spread(weights: list[int], total: int) -> list[int]:
    """Share ``total`` minor units over ``weights`` in proportion, kopeck-exact (largest remainder first)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    shares = [w * total // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(weights[i] * total % whole), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _receipt_lines(name: str, quantity: int, amount: int, currency: str, tax: LineTax) -> list[ReceiptItem]:
    """One line, or two when the amount does not divide by the quantity: every line stays price x quantity."""
    price, rest = divmod(amount, quantity)
    parts = [(quantity - rest, price), (rest, price + 1)]
    return [
        ReceiptItem(
            name,
            Decimal(count),
            Money(unit, currency),
            Money(unit * count, currency),
            vat_code=tax.vat_code,
            payment_mode=tax.payment_mode,
            payment_subject=tax.payment_subject,
            measure=tax.measure,
        )
        for count, unit in parts
        if count and unit
    ]


def receipt_for(order: Mapping, amount_minor: int | None = None, tax: OrderTax | None = None) -> Receipt | None:
    """A 54-FZ receipt from the order lines and delivery, for the order total or ``amount_minor`` (a refund).

    The order discount is spread over the goods lines in proportion to their totals, and a partial refund over
    every line the same way, so the lines add up to the amount to the kopeck. Each line carries its product's
    VAT, measure, subject and mode, delivery the store's delivery VAT, the receipt the store's taxation system
    (``tax``, from ``receipts.order_tax``). RUB only; None when nothing fits.
    """
    if order["currency"] != "RUB":
        return None
    tax = tax or OrderTax()
    line_taxes = list(tax.lines) or [LineTax()] * len(order["lines"])
    goods = [int(line["total_minor"]) for line in order["lines"]]
    after_discount = spread(goods, max(0, sum(goods) - int(order["discount_minor"] or 0)))
    lines = [
        (line["name"][:128], int(line["quantity"]), share, line_tax)
        for line, share, line_tax in zip(order["lines"], after_discount, line_taxes, strict=True)
    ]
    if order["delivery_minor"]:
        delivery = LineTax(vat_code=tax.delivery_vat_code, payment_subject="service")
        lines.append(((order["delivery_name"] or _("Delivery"))[:128], 1, int(order["delivery_minor"]), delivery))
    target = int(order["total_minor"]) if amount_minor is None else amount_minor
    amounts = [amount for _name, _qty, amount, _tax in lines]
    if target != sum(amounts):
        amounts = spread(amounts, target)
    items = [
        item
        for (name, quantity, _amount, line_tax), amount in zip(lines, amounts, strict=True)
        for item in _receipt_lines(name, quantity, amount, "RUB", line_tax)
    ]
    if not items:
        return None
    receipt = Receipt(tuple(items), taxation=tax.tax_system, email=order["email"], phone=order["phone"])
    return receipt if receipt.matches(Money(target, "RUB")) else None


REASON_MAX = 500


def _refund_problem(payment: Mapping | None, amount_minor: int) -> None:
    if payment is None:
        raise NotFound(_("This payment does not exist."))
    left = payment["amount_minor"] - payment["refunded_minor"]
    if payment["status"] not in ("succeeded", "partially_refunded") or not 0 < amount_minor <= left:
        raise ValidationFailed({"amount": _("Refund from 0.01 up to what is left of the payment.")})


async def check_refund(payment_id: int, amount_minor: int) -> dict:
    """What staff confirm before a refund: the payment, if ``amount_minor`` may be refunded of it.

    Raises:
        NotFound: no such payment.
        ValidationFailed: the amount is not positive or exceeds what is left to refund.
    """
    payment = await Payment.select(
        Payment.id, Payment.ref, Payment.status, Payment.amount_minor, Payment.refunded_minor, Payment.currency
    ).where(Payment.id == payment_id).first()  # fmt: skip
    _refund_problem(payment, amount_minor)
    return payment


async def refund(
    payment_id: int, amount_minor: int, *, keys: Keys, actor: str, actor_id: int | None = None, reason: str = ""
) -> dict:
    """Refund part or all of a paid payment; several refunds may follow, never more than was paid.

    Each refund done is written to the order's history and the audit log, with the reason staff gave.

    Raises:
        ValidationFailed: the amount is not positive or exceeds what is left to refund.
        NotFound: no such payment.
    """
    key = uuid.uuid4().hex
    reason = " ".join(reason.split())[:REASON_MAX]
    async with store_transaction():
        rows = await Payment.raw(
            'SELECT id, status, amount_minor, refunded_minor, currency, provider_payment_id, ref, connection, "order"'
            " FROM payment WHERE id = {} FOR UPDATE",
            payment_id,
        )
        _refund_problem(rows[0] if rows else None, amount_minor)
        payment = rows[0]
        await Payment.update({Payment.refunded_minor: payment["refunded_minor"] + amount_minor}).where(
            Payment.id == payment_id
        )  # reserved now: a concurrent refund sees the smaller remainder
        await Refund.insert(
            Refund(
                payment=payment_id,
                amount_minor=amount_minor,
                idempotency_key=key,
                actor=actor,
                reason=reason,
                created_at=datetime.now(UTC),
            )
        )
    row = await connection(payment["connection"])
    order = await orders.get(payment["order"])
    receipt = None
    if Capability.RECEIPTS in gateway_class(row["code"]).capabilities:
        # the refund's own receipt ("возврат прихода"), kept on the refund
        receipt = receipt_for(order, amount_minor, await receipts.order_tax(order))
    request = RefundRequest(
        payment["provider_payment_id"] or payment["ref"],
        Money(amount_minor, payment["currency"]),
        key,
        payment_ref=payment["ref"],
        receipt=receipt,
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
    async with store_transaction():
        await Refund.update(
            {
                Refund.status: result.status,
                Refund.provider_refund_id: result.refund_id,
                Refund.receipt: receipts.as_data(receipt),
            }
        ).where(Refund.idempotency_key == key)
        # From the row, not this call's snapshot: refunds running side by side each see the other's reservation.
        rows = await Payment.raw(
            "UPDATE payment SET status = CASE WHEN refunded_minor >= amount_minor THEN 'refunded'"
            " ELSE 'partially_refunded' END, updated_at = {} WHERE id = {} RETURNING status, refunded_minor",
            datetime.now(UTC),
            payment_id,
        )
        await _refund_written(order, payment, amount_minor, actor=actor, actor_id=actor_id, reason=reason)
    return {"status": rows[0]["status"], "refunded_minor": rows[0]["refunded_minor"]}


async def _refund_written(
    order: Mapping, payment: Mapping, amount_minor: int, *, actor: str, actor_id: int | None, reason: str
) -> None:
    """A refund done goes into the order's history, the audit log and the customer's timeline."""
    data = {"amount_minor": amount_minor, "currency": payment["currency"], "payment": payment["ref"]}
    await OrderChange.insert(
        OrderChange(
            order=order["id"],
            at=datetime.now(UTC),
            actor_id=actor_id,
            actor=actor[:254],
            field="refund",
            before={},
            after={**data, "reason": reason},
        )
    )
    await audit.record(
        "order", order["id"], "refund", actor_id=actor_id, actor=actor, summary=f"#{order['number']}",
        after={**data, "reason": reason},
    )  # fmt: skip
    await customers.add_event(order["customer"], customers.REFUNDED, order_id=order["id"], data=data)
