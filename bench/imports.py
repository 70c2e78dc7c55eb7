"""Importing a generated YML feed of 100,000 offers against a raw COPY of the same rows, same run;
and the import's peak memory at 10,000 and 100,000 offers (each measured in a fresh process)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.services import products
from app.services.imports import jobs
from app.services.imports.records import Offer, Product
from app.services.imports.yml import stream_yml
from app.tables.catalog import Offer as OfferTable
from app.tenancy import runtime as tenancy
from bench._common import Row, bench_runtime, make_store, median_ms

SIZES = (10_000, 100_000)


def write_feed(path: Path, offers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2026-11-01 10:00"><shop><name>Bench</name>'
            '<currencies><currency id="RUB" rate="1"/></currencies><categories>'
        )
        for c in range(1, 51):
            parent = ' parentId="1"' if c > 1 else ""
            out.write(f'<category id="{c}"{parent}>Категория {c}</category>')
        out.write("</categories><offers>\n")
        for i in range(offers):
            out.write(
                f'<offer id="{i}" available="{"true" if i % 7 else "false"}"><name>Товар номер {i}</name>'
                f"<price>{100 + i % 9000}.50</price><oldprice>{200 + i % 9000}</oldprice><currencyId>RUB</currencyId>"
                f"<categoryId>{1 + i % 50}</categoryId><vendor>Бренд {i % 300}</vendor><vendorCode>SKU-{i:07d}"
                f'</vendorCode><picture>https://img.example.com/{i}.jpg</picture><param name="Цвет">красный</param>'
                f"<count>{i % 40}</count><description>Описание товара {i}</description></offer>\n"
            )
        out.write("</offers></shop></yml_catalog>\n")


def copy_rows(feed: Path) -> tuple[list[tuple], list[tuple]]:
    """The rows the import writes, prepared before the clock starts (the baseline measures COPY alone)."""
    products, offers = [], []
    for record in stream_yml(feed):
        if isinstance(record, Product):
            products.append(
                (
                    record.external_id,
                    "yml",
                    record.name,
                    "{}",
                    record.description or "",
                    "{}",
                    record.vendor,
                    record.vendor_code,
                    json.dumps(record.pictures),
                    json.dumps([list(p) for p in record.params]),
                )
            )
        elif isinstance(record, Offer):
            offers.append(
                (
                    record.external_id,
                    record.product_external_id,
                    record.name,
                    record.price_minor,
                    record.old_price_minor,
                    record.currency or "RUB",
                    record.stock,
                    bool(record.available),
                )
            )
    return products, offers


async def raw_copy(products: list[tuple], offers: list[tuple]) -> float:
    async with tenancy.store_transaction():
        conn = tenancy.transaction_connection()
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "product",
            records=products,
            columns=[
                "external_id",
                "source",
                "name",
                "names",
                "description",
                "descriptions",
                "vendor",
                "vendor_code",
                "pictures",
                "params",
            ],
        )
        ids = dict(await conn.fetch("SELECT external_id, id FROM product WHERE source = 'yml'"))
        rows = [(ids[o[1]], "yml", o[0], o[2], o[3], o[4], o[5], o[6], o[7]) for o in offers]
        await conn.copy_records_to_table(
            "offer",
            records=rows,
            columns=[
                "product",
                "source",
                "external_id",
                "name",
                "price_minor",
                "old_price_minor",
                "currency",
                "stock",
                "available",
            ],
        )
        elapsed = time.perf_counter() - started
        await conn.execute("TRUNCATE offer, product, category RESTART IDENTITY CASCADE")
    return elapsed


async def timed_import(feed: Path, storage: Path) -> float:
    job_id = await jobs.create_job([feed], storage)
    await jobs.request_apply_now(job_id)
    started = time.perf_counter()
    job = await jobs.run_job(job_id)
    elapsed = time.perf_counter() - started
    assert job["status"] == "done", job["fatal"]
    return elapsed


async def list_timings(rounds: int = 7) -> dict[str, float]:
    """The products page's queries at 100k offers: first page, search, category, sort, a deep page."""
    cases = {
        "first page": {},
        "search": {"q": "Товар 4242"},
        "category": {"category": "2"},
        "sorted by price": {"sort": "-price"},
        "page 1000": {"page": "1000"},
    }
    timings = {}
    for name, raw in cases.items():
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            await products.list_page(products.parse_filters(raw))
            samples.append(time.perf_counter() - started)
        timings[name] = median_ms(samples)
    return timings


async def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed.xml"
        write_feed(feed, SIZES[-1])
        products, offers = copy_rows(feed)
        async with bench_runtime() as runtime:
            shop = await make_store("bench-import")
            async with tenancy.bind_tenant(shop):
                baseline = await raw_copy(products, offers)
                imported = await timed_import(feed, Path(tmp) / "uploads")
                count = await OfferTable.count()
                again = await timed_import(feed, Path(tmp) / "uploads")
                listing = await list_timings()
        assert count == SIZES[-1]
        rows.append(Row("import: raw COPY of 100k products + offers", baseline * 1000, "ms"))
        rows.append(
            Row("import: YML feed, 100k offers (parse+stage+merge)", imported * 1000, "ms", baseline * 1000, "≤ 3x")
        )
        rows.append(Row("import: same feed again (nothing changes)", again * 1000, "ms", baseline * 1000, "info"))
        for name, value in listing.items():
            rows.append(Row(f"catalog at 100k offers: {name} (median)", value, "ms", goal="info"))
        peaks = {size: peak_rss(size) for size in SIZES}
        rows.append(Row("import: peak memory, 10k offers", peaks[SIZES[0]], "MB"))
        rows.append(Row("import: peak memory, 100k offers", peaks[SIZES[1]], "MB", peaks[SIZES[0]], "≤ 1.5x"))
        del runtime
    return rows


def peak_rss(size: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.import_memory", str(size)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def max_rss_mb() -> float:
    """Peak resident memory of this process plus its largest child (the parser process of a big file)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024
