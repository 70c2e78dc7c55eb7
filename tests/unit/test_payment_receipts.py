"""54-FZ receipts from orders: discounts spread over the lines and partial refunds add up to the kopeck."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.services.payments import receipt_for, spread

pytestmark = pytest.mark.unit


def order(lines: list[tuple[int, int]], *, discount: int = 0, delivery: int = 0) -> dict:
    subtotal = sum(price * qty for price, qty in lines)
    return {
        "currency": "RUB",
        "discount_minor": discount,
        "delivery_minor": delivery,
        "delivery_name": "Курьер",
        "total_minor": max(0, subtotal - discount) + delivery,
        "email": "a@example.com",
        "phone": "+79120001111",
        "lines": [
            {"name": f"Товар {n}", "quantity": qty, "price_minor": price, "total_minor": price * qty}
            for n, (price, qty) in enumerate(lines)
        ],
    }


def test_spread_is_exact_and_proportional() -> None:
    assert spread([100, 200, 300], 60) == [10, 20, 30]
    assert spread([1, 1, 1], 100) == [34, 33, 33]  # the remainder goes to the largest fractions, first line first
    assert sum(spread([99999, 1, 333], 12345)) == 12345
    assert spread([0, 0], 5) == [0, 0]


def test_discount_is_spread_over_goods_and_every_line_is_price_times_quantity() -> None:
    data = order([(33333, 3), (10000, 1)], discount=10000, delivery=30000)
    receipt = receipt_for(data)
    assert receipt is not None and receipt.total().minor == data["total_minor"] == 129999
    for item in receipt.items:
        assert Decimal(item.price.minor) * item.quantity == item.amount.minor
    # Delivery keeps its own price (the discount is on goods) and is a service.
    assert receipt.items[-1].payment_subject == "service" and receipt.items[-1].amount.minor == 30000
    # A line whose discounted total does not divide by its quantity becomes two lines of the same goods.
    names = [item.name for item in receipt.items]
    assert names.count("Товар 0") == 2


def test_random_orders_discounts_and_partial_refunds_add_up_to_the_kopeck() -> None:
    rng = random.Random(54)
    for _ in range(500):
        lines = [(rng.randint(1, 500000), rng.randint(1, 12)) for _ in range(rng.randint(1, 6))]
        subtotal = sum(p * q for p, q in lines)
        data = order(lines, discount=rng.randint(0, subtotal - 1), delivery=rng.choice([0, 0, 25000, 39999]))
        receipt = receipt_for(data)
        assert receipt is not None and receipt.total().minor == data["total_minor"]
        refund = rng.randint(1, data["total_minor"])
        back = receipt_for(data, refund)
        assert back is not None and back.total().minor == refund
        for item in (*receipt.items, *back.items):
            assert item.price.minor > 0 and Decimal(item.price.minor) * item.quantity == item.amount.minor


def test_no_receipt_outside_rubles() -> None:
    assert receipt_for({**order([(1000, 1)]), "currency": "USD"}) is None


def test_each_line_carries_its_products_tax_and_delivery_the_stores_delivery_vat() -> None:
    from app.services.receipts import LineTax, OrderTax

    data = order([(10000, 3), (5000, 1)], delivery=30000)
    tax = OrderTax(
        "usn_income_outcome",
        (LineTax("vat7", "kilogram", "commodity", "full_prepayment"), LineTax("vat22", "piece", "excise", "advance")),
        delivery_vat_code="vat20",
    )
    receipt = receipt_for(data, tax=tax)
    assert receipt is not None and receipt.taxation == "usn_income_outcome"
    described = [(i.name, i.vat_code, i.measure, i.payment_subject, i.payment_mode) for i in receipt.items]
    assert described == [
        ("Товар 0", "vat7", "kilogram", "commodity", "full_prepayment"),
        ("Товар 1", "vat22", "piece", "excise", "advance"),
        ("Курьер", "vat20", "piece", "service", "full_payment"),
    ]
    # A refund's receipt keeps every line's tax: the lines of a line split in two both carry it.
    refund = receipt_for(data, 10001, tax)
    assert refund is not None and {i.vat_code for i in refund.items if i.name == "Товар 0"} == {"vat7"}


def test_without_tax_settings_nothing_is_claimed() -> None:
    receipt = receipt_for(order([(10000, 1)], delivery=500))
    assert receipt is not None and receipt.taxation is None
    assert {i.vat_code for i in receipt.items} == {"none"} and {i.measure for i in receipt.items} == {"piece"}
