"""One import in a fresh process; prints its peak resident memory in MB (called by bench.imports)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from app.tenancy import runtime as tenancy
from bench._common import bench_runtime, make_store
from bench.imports import max_rss_mb, timed_import, write_feed


async def main(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed.xml"
        write_feed(feed, size)
        async with bench_runtime():
            shop = await make_store("bench-memory")
            async with tenancy.bind_tenant(shop):
                await timed_import(feed, Path(tmp) / "uploads")
    print(f"{max_rss_mb():.1f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
