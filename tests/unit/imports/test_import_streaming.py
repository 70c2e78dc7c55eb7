"""Streaming: a big generated feed is parsed in flat memory, batch by batch, and only once."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from app.services.imports import Offer, Product, stream_yml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DESCRIPTION = "Описание товара с подробностями. " * 12


def _write_feed(path: Path, offers: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2024-01-01"><shop><name>Big</name>'
            '<currencies><currency id="RUR" rate="1"/></currencies>'
            '<categories><category id="1">Всё</category></categories><offers>\n'
        )
        for i in range(offers):
            handle.write(
                f'<offer id="{i}" available="true"><name>Товар {i}</name><price>{i}.50</price>'
                f"<currencyId>RUR</currencyId><categoryId>1</categoryId><picture>https://e.x/{i}.jpg</picture>"
                f'<param name="Цвет">Красный</param>'
                f"<description><![CDATA[<p>{DESCRIPTION}</p>]]></description>"
                "</offer>\n"
            )
        handle.write("</offers></shop></yml_catalog>\n")


def test_fifty_thousand_offers_stream_in_small_python_memory(tmp_path: Path) -> None:
    feed = tmp_path / "big.xml"
    _write_feed(feed, 50_000)
    assert feed.stat().st_size > 25_000_000
    products = offers = batches = 0
    last: Offer | None = None
    tracemalloc.start()
    try:
        for batch in stream_yml(feed).batches(1000):
            batches += 1
            assert len(batch) <= 1000
            products += sum(isinstance(r, Product) for r in batch)
            offers += sum(isinstance(r, Offer) for r in batch)
            last = next((r for r in reversed(batch) if isinstance(r, Offer)), last)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (products, offers) == (50_000, 50_000)
    assert batches == 101  # 1 category + 100 000 records in batches of 1000
    assert last is not None and (last.external_id, last.price_minor) == ("49999", 4_999_950)
    assert peak < 30_000_000, f"peak {peak / 1e6:.1f} MB: records are being accumulated"


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from app.services.imports import stream_yml
    for _ in stream_yml(sys.argv[1]):
        pass
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    """
)


def _peak_rss_kib(feed: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(feed)], cwd=REPO, capture_output=True, text=True, check=True
    )
    return int(json.loads(done.stdout))


def test_libxml2_tree_does_not_grow_with_the_file(tmp_path: Path) -> None:
    # tracemalloc cannot see libxml2's C allocations; process RSS can. A tree kept whole would cost
    # several times the file size, so a ~50 MB feed must not raise the peak by more than ~25 MB.
    small, big = tmp_path / "small.xml", tmp_path / "big.xml"
    _write_feed(small, 1_000)
    _write_feed(big, 50_000)
    growth_mib = (_peak_rss_kib(big) - _peak_rss_kib(small)) / 1024
    assert big.stat().st_size > 40_000_000
    assert growth_mib < 25, f"RSS grew by {growth_mib:.0f} MiB for {big.stat().st_size / 1e6:.0f} MB"


def test_stream_is_consumed_once_and_meta_completes_at_the_end() -> None:
    feed = io.BytesIO(
        b'<yml_catalog><shop><offers><offer id="1"><name>A</name><price>1</price></offer></offers></shop></yml_catalog>'
    )
    stream = stream_yml(feed)
    assert not stream.meta.complete and not stream.meta.is_full
    records = list(stream)
    assert len(records) == 2 and stream.meta.complete and stream.meta.is_full
    with pytest.raises(RuntimeError):
        list(stream)
