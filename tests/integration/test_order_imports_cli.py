"""``autooffice import-orders`` as an operator runs it, and the figures that must be right straight after."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from app.services import analytics
from app.services.imports import orders_apply
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "orders"


async def test_cli_dry_run_changes_nothing_then_applies_and_refuses_mistakes_in_one_line(cli, runtime) -> None:
    store = await make_store("ord-cli")
    shopify = str(DATA / "shopify_orders.csv")
    dry = cli("import-orders", store.slug, shopify, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "orders new: 3" in dry.stdout and "preview" in dry.stdout
    async with tenancy.bind_tenant(store.tenant):
        assert await Order.count() == 0
    done = cli("import-orders", store.slug, shopify, str(DATA / "mapped_orders.csv"), "--format", "csv")
    assert done.returncode != 0 and "nothing was imported" in done.stderr  # Shopify's columns are no mapped CSV
    done = cli("import-orders", store.slug, shopify, "--format", "shopify")
    assert done.returncode == 0 and "orders new: 3" in done.stdout, done.stderr
    again = cli("import-orders", store.slug, shopify)
    assert "orders new: 0" in again.stdout and "orders unchanged: 3" in again.stdout
    for args in (("no-such-store", shopify), (store.slug, "/no/such/file.csv"), (store.slug, shopify, "--format", "x")):
        wrong = cli("import-orders", *args)
        assert wrong.returncode != 0 and "Traceback" not in wrong.stderr


async def test_dashboard_figures_count_imported_orders_on_their_own_days(runtime) -> None:
    store = await make_store("ord-figures", currency="UAH", country="UA")
    rows = list(csv.DictReader((DATA / "woocommerce_orders.csv").open(encoding="utf-8")))
    async with tenancy.bind_tenant(store.tenant):
        report = await orders_apply.import_files([("w.csv", (DATA / "woocommerce_orders.csv").read_bytes())])
        assert report.applied
        march = await analytics.totals("UAH", date(2025, 3, 1), date(2025, 3, 31))
        in_march = [r for r in rows if r["order_date"].startswith("2025-03")]
        assert march["orders"] == len(in_march) == 2
        assert march["revenue_minor"] == sum(int(r["order_total"].replace(".", "")) for r in in_march)
        april = await analytics.totals("UAH", date(2025, 4, 1), date(2025, 4, 30))
        assert (april["orders"], april["cancelled"]) == (1, 1)
