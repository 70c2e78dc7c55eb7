"""A year of believable history for the demo store, generated from a seed and written with COPY.

Customers in several cities who came from several channels, a third of them coming back; orders that
went through the statuses (most completed, some cancelled, the newest still in work); online payments,
a few failed tries and refunds; form visits and contacts left in unfinished forms. The rollup triggers
see every COPY as one statement; the caller rebuilds the rollups afterwards all the same.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.tables.catalog import Offer
from app.tables.orders import Order, OrderStatus
from app.tables.payments import PaymentConnection
from app.tenancy.runtime import store_transaction, transaction_connection

FIRST = [
    "Анна",
    "Иван",
    "Ольга",
    "Дмитрий",
    "Мария",
    "Сергей",
    "Елена",
    "Алексей",
    "Наталья",
    "Павел",
    "Ирина",
    "Юрий",
    "Татьяна",
    "Андрей",
    "Светлана",
    "Максим",
    "Екатерина",
    "Никита",
    "Ксения",
    "Артём",
]
LAST = [
    "Смирнов",
    "Иванов",
    "Кузнецов",
    "Соколов",
    "Попов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Петров",
    "Волков",
    "Соловьёв",
    "Васильев",
    "Зайцев",
    "Павлов",
    "Семёнов",
    "Голубев",
    "Виноградов",
]
CITIES = [
    ("Москва", 34),
    ("Санкт-Петербург", 18),
    ("Екатеринбург", 8),
    ("Казань", 7),
    ("Новосибирск", 7),
    ("Нижний Новгород", 6),
    ("Краснодар", 6),
    ("Самара", 5),
    ("Ростов-на-Дону", 5),
    ("Воронеж", 4),
]
# (utm_source, utm_campaign, weight, chance to come back): channels differ in how loyal their buyers are.
CHANNELS = [
    ("yandex", "search", 26, 0.34),
    ("vk", "autumn", 20, 0.30),
    ("telegram", "channel", 12, 0.45),
    ("newsletter", "weekly", 8, 0.62),
    ("instagram", "reels", 10, 0.22),
    ("", "", 24, 0.40),
]
PATH = ["new", "approval", "assembling", "delivery", "complete"]
CUSTOMERS = 900


@dataclass
class Batch:
    customers: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    refunds: list[tuple] = field(default_factory=list)
    drafts: list[tuple] = field(default_factory=list)
    opens: dict[tuple, int] = field(default_factory=dict)


def _weighted(rng: random.Random, items: list, weights: list[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def _status_path(rng: random.Random, age_days: float) -> list[str]:
    """The statuses an order of this age has been through, ending where it is now."""
    if age_days < 1:
        return PATH[: rng.choice([1, 1, 2])]
    if age_days < 5:
        return PATH[: rng.choice([2, 3, 4, 4])]
    if rng.random() < 0.11:
        return [*PATH[: rng.choice([1, 2, 2, 3])], "cancelled"]
    return PATH if age_days > 12 or rng.random() < 0.7 else PATH[:4]


async def _ids(table: str, count: int) -> list[int]:
    rows = await Order.raw(
        "SELECT nextval(pg_get_serial_sequence({}, 'id')) AS id FROM generate_series(1, {})", table, count
    )
    return [int(r["id"]) for r in rows]


def _js(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


async def seed_year(rng: random.Random, actor: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    offers = await Offer.select(Offer.id, Offer.name, Offer.sku, Offer.price_minor).order_by(Offer.id)
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(len(offers))]
    rng.shuffle(popularity)
    statuses = {r["code"]: r["id"] for r in await OrderStatus.select(OrderStatus.code, OrderStatus.id)}
    connection = await PaymentConnection.select(PaymentConnection.id).first()
    batch = Batch()
    customer_ids = await _ids("customer", CUSTOMERS)
    plans = []
    for index, customer_id in enumerate(customer_ids):
        utm_source, campaign, _weight, loyalty = _weighted(rng, CHANNELS, [c[2] for c in CHANNELS])
        first = now - timedelta(days=364 * rng.random() ** 1.25, hours=rng.uniform(0, 12))
        first = first.replace(hour=rng.choice(range(6, 21)), minute=rng.randrange(60))
        if first > now:
            first -= timedelta(days=1)
        moments = [first]
        while rng.random() < (loyalty if len(moments) == 1 else 0.55):
            later = moments[-1] + timedelta(days=4 + rng.expovariate(1 / 38))
            if later >= now:
                break
            moments.append(later)
        plans.append((customer_id, index, utm_source, campaign, moments))
    order_count = sum(len(p[4]) for p in plans)
    order_ids = await _ids("orders", order_count)
    numbers = await Order.raw("SELECT nextval('order_number_seq') AS n FROM generate_series(1, {})", order_count)
    payment_ids = iter(await _ids("payment", order_count * 2))
    cursor = 0
    for customer_id, index, utm_source, campaign, moments in plans:
        name = f"{FIRST[index % len(FIRST)]} {LAST[(index * 7) % len(LAST)]}"
        if FIRST[index % len(FIRST)].endswith("а") or FIRST[index % len(FIRST)].endswith("я"):
            name += "а"
        phone = f"+7912{index:07d}"
        email = f"client{index}@example.ru" if rng.random() < 0.6 else None
        city = _weighted(rng, [c[0] for c in CITIES], [c[1] for c in CITIES])
        utm = {"utm_source": utm_source, "utm_campaign": campaign} if utm_source else {}
        source = "form" if utm_source or rng.random() < 0.55 else "staff"
        batch.customers.append((customer_id, name, phone, email, city, source, _js(utm), moments[0], moments[0]))
        for placed in moments:
            order_id, number = order_ids[cursor], str(numbers[cursor]["n"])
            cursor += 1
            order_source = source if placed == moments[0] else ("form" if rng.random() < 0.8 else "staff")
            order_utm = (
                utm
                if placed == moments[0]
                else ({"utm_source": "newsletter", "utm_campaign": "weekly"} if rng.random() < 0.3 else {})
            )
            _order(
                rng,
                batch,
                offers,
                popularity,
                statuses,
                connection,
                payment_ids,
                actor,
                now,
                (order_id, number, customer_id, name, phone, email, city, order_source, order_utm, placed),
            )
    _unfinished_forms(rng, batch, now)
    await _write(batch)


def _order(rng, batch, offers, popularity, statuses, connection, payment_ids, actor, now, order) -> None:
    order_id, number, customer_id, name, phone, email, city, source, utm, placed = order
    picked = {o["id"]: o for o in rng.choices(offers, weights=popularity, k=rng.choice([1, 1, 1, 2, 2, 3]))}
    subtotal = 0
    for position, offer in enumerate(picked.values()):
        quantity = rng.choice([1, 1, 1, 2, 2, 3])
        subtotal += offer["price_minor"] * quantity
        batch.lines.append(
            (
                order_id,
                offer["id"],
                offer["name"],
                offer["sku"],
                offer["price_minor"],
                quantity,
                offer["price_minor"] * quantity,
                position,
            )
        )
    courier = rng.random() < 0.65
    delivery = 30000 if courier and subtotal < 500000 else 0
    discount = subtotal // 10 if rng.random() < 0.12 else 0
    total = subtotal - discount + delivery
    path = _status_path(rng, (now - placed).total_seconds() / 86400)
    moment = placed
    for before, after in itertools.pairwise(path):
        moment = min(now, moment + timedelta(hours=rng.uniform(1, 30)))
        batch.changes.append((order_id, moment, actor, "status", _js({"code": before}), _js({"code": after})))
        batch.events.append(
            (customer_id, "status_changed", moment, order_id, _js({"from": before, "to": after, "number": number}))
        )
    batch.orders.append(
        (
            order_id,
            number,
            f"demo{order_id:06d}{rng.getrandbits(64):016x}",
            statuses[path[-1]],
            customer_id,
            name,
            phone,
            email,
            "RUB",
            subtotal,
            discount,
            delivery,
            total,
            "courier" if courier else "pickup",
            "Курьер" if courier else "Самовывоз",
            f"{city}, ул. Ленина, {rng.randint(1, 120)}" if courier else "",
            source,
            "order" if source == "form" else None,
            _js(utm),
            len(path) > 1,
            placed,
            moment,
        )
    )
    if source == "form":
        batch.events.append(
            (
                customer_id,
                "form_opened",
                placed - timedelta(minutes=rng.randint(2, 15)),
                order_id,
                _js({"form": "order"}),
            )
        )
        batch.drafts.append(
            (f"demo-{order_id}", "order", name, phone, email, _js(utm), True, False, placed - timedelta(minutes=2))
        )
        key = ((placed + timedelta(hours=3)).date(), utm.get("utm_source", ""))
        batch.opens[key] = batch.opens.get(key, 0) + rng.randint(3, 9)
    batch.events.append(
        (
            customer_id,
            "order_placed",
            placed,
            order_id,
            _js({"number": number, "total_minor": total, "currency": "RUB", "source": source}),
        )
    )
    if connection is not None and len(path) > 1:
        _payments(rng, batch, connection["id"], payment_ids, (order_id, customer_id, total, placed, path))


def _payments(rng, batch, connection, payment_ids, order) -> None:
    order_id, customer_id, total, placed, path = order
    cancelled = path[-1] == "cancelled"
    if rng.random() > (0.3 if cancelled else 0.74):
        return
    at = placed + timedelta(minutes=rng.randint(3, 40))
    if rng.random() < 0.08:  # a declined card first
        pid = next(payment_ids)
        batch.payments.append(
            (pid, order_id, connection, f"D-{pid}", f"demo-pay-{pid}", "failed", total, 0, None, at, at)
        )
        batch.events.append((customer_id, "payment_failed", at, order_id, _js({"amount_minor": total})))
        at += timedelta(minutes=4)
    pid = next(payment_ids)
    refunded = total if cancelled else (total // 3 if rng.random() < 0.04 else 0)
    status = "refunded" if refunded == total else "partially_refunded" if refunded else "succeeded"
    batch.payments.append(
        (pid, order_id, connection, f"D-{pid}", f"demo-pay-{pid}", status, total, refunded, at, at, at)
    )
    batch.events.append((customer_id, "paid", at, order_id, _js({"amount_minor": total, "currency": "RUB"})))
    if refunded:
        later = at + timedelta(days=rng.uniform(1, 6))
        batch.refunds.append((pid, refunded, "succeeded", f"demo-refund-{pid}", later))
        batch.events.append((customer_id, "refunded", later, order_id, _js({"amount_minor": refunded})))


def _unfinished_forms(rng: random.Random, batch: Batch, now: datetime) -> None:
    """Contacts typed into the form and never sent; each day's visits also get a few who left at once."""
    for index in range(len(batch.drafts) * 2 // 5):
        at = now - timedelta(days=364 * rng.random() ** 1.25, hours=rng.uniform(1, 12))
        utm_source, campaign, _w, _l = _weighted(rng, CHANNELS, [c[2] for c in CHANNELS])
        utm = {"utm_source": utm_source, "utm_campaign": campaign} if utm_source else {}
        batch.drafts.append(
            (
                f"demo-lead-{index}",
                "order",
                FIRST[index % len(FIRST)],
                f"+7913{index:07d}",
                None,
                _js(utm),
                False,
                (now - at).total_seconds() > 3600,
                at,
            )
        )
        key = ((at + timedelta(hours=3)).date(), utm_source)
        batch.opens[key] = batch.opens.get(key, 0) + rng.randint(2, 5)


async def _write(batch: Batch) -> None:
    async with store_transaction():
        conn = transaction_connection()
        await conn.copy_records_to_table(
            "customer",
            records=[(*c, "[]", "", 0, 0) for c in batch.customers],
            columns=[
                "id",
                "name",
                "phone",
                "email",
                "city",
                "source",
                "utm",
                "created_at",
                "updated_at",
                "tags",
                "note",
                "orders_count",
                "total_spent_minor",
            ],
        )
        await conn.copy_records_to_table(
            "orders",
            records=[(*o, "{}", "", "ru") for o in batch.orders],
            columns=[
                "id",
                "number",
                "token",
                "status",
                "customer",
                "customer_name",
                "phone",
                "email",
                "currency",
                "subtotal_minor",
                "discount_minor",
                "delivery_minor",
                "total_minor",
                "delivery_method",
                "delivery_name",
                "delivery_address",
                "source",
                "form_code",
                "utm",
                "confirmed",
                "created_at",
                "updated_at",
                "fields",
                "comment",
                "locale",
            ],
        )
        await conn.copy_records_to_table(
            "order_line",
            records=batch.lines,
            columns=["order", "offer_id", "name", "sku", "price_minor", "quantity", "total_minor", "position"],
        )
        await conn.copy_records_to_table(
            "order_change", records=batch.changes, columns=["order", "at", "actor", "field", "before", "after"]
        )
        await conn.copy_records_to_table(
            "payment",
            records=[(*p, 0, "RUB") for p in batch.payments],
            columns=[
                "id",
                "order",
                "connection",
                "ref",
                "idempotency_key",
                "status",
                "amount_minor",
                "refunded_minor",
                "paid_at",
                "created_at",
                "updated_at",
                "attempts",
                "currency",
            ],
        )
        await conn.copy_records_to_table(
            "refund",
            records=[(r[0], r[1], r[2], r[3], "", r[4]) for r in batch.refunds],
            columns=["payment", "amount_minor", "status", "idempotency_key", "actor", "created_at"],
        )
        await conn.copy_records_to_table(
            "customer_event", records=batch.events, columns=["customer", "kind", "at", "order_id", "data"]
        )
        await conn.copy_records_to_table(
            "form_draft",
            records=[(*d, d[-1], "") for d in batch.drafts],
            columns=[
                "nonce",
                "form_code",
                "name",
                "phone",
                "email",
                "utm",
                "converted",
                "reported",
                "created_at",
                "updated_at",
                "note",
            ],
        )
        await conn.executemany(
            "INSERT INTO form_day AS t (day, form_code, utm_source, opened) VALUES ($1, 'order', $2, $3)"
            " ON CONFLICT (day, form_code, utm_source) DO UPDATE SET opened = t.opened + excluded.opened",
            [(day, source, count) for (day, source), count in sorted(batch.opens.items())],
        )
        await conn.execute(
            "UPDATE customer c SET orders_count = s.n, total_spent_minor = s.total, first_order_at = s.first,"
            " last_order_at = s.last FROM (SELECT customer, count(*) AS n, sum(total_minor) AS total,"
            " min(created_at) AS first, max(created_at) AS last FROM orders GROUP BY customer) s"
            " WHERE s.customer = c.id"
        )
