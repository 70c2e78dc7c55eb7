"""The order form under concurrent load: p50/p99 of the form page and of placing an order, next to a
plain-text endpoint of the same app (``/healthz``) in the same run, over a real server process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.services import forms
from app.services.imports import jobs as import_jobs
from app.settings import PROJECT_DIR
from app.tenancy import runtime as tenancy
from bench._common import Row, bench_runtime, make_store

CONCURRENCY = 20
FEED = (
    "<yml_catalog><shop><offers>"
    + "".join(
        f'<offer id="b{i}"><name>Товар {i}</name><price>{100 + i}</price><vendorCode>B-{i}</vendorCode></offer>'
        for i in range(40)
    )
    + "</offers></shop></yml_catalog>"
)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def load(client: httpx.AsyncClient, requests: list[tuple[str, str, dict | None]]) -> list[float]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    samples: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            method, url, data = queue.get_nowait()
            started = time.perf_counter()
            response = await client.request(method, url, data=data)
            samples.append(time.perf_counter() - started)
            assert response.status_code in (200, 303), (url, response.status_code, response.text[:300])

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return samples


def start_server(runtime: tenancy.Runtime) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = runtime.settings
    env = {
        **os.environ,
        "AUTOOFFICE_DATABASE_URL": runtime.primary_dsn,
        "AUTOOFFICE_DB_PREFIX": settings.db.prefix,
        "AUTOOFFICE_SECRET_KEY": settings.secret_key,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("bench server did not start")


async def run() -> list[Row]:
    async with bench_runtime() as runtime:
        store = await make_store("bench-forms")
        async with tenancy.bind_tenant(store):
            feed = Path(runtime.settings.data_dir) / "bench-forms.xml"
            feed.write_text(FEED, encoding="utf-8")
            job_id = await import_jobs.create_job([feed], Path(runtime.settings.data_dir) / "uploads")
            await import_jobs.request_apply_now(job_id)
            await import_jobs.run_job(job_id)
            feed.unlink()
            offer_ids = [o["id"] for o in await forms.offers_for(await forms.get_form("order"))]
        proc, url = start_server(runtime)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                await load(client, [("GET", f"/f/{store.slug}/order", None)] * 40)  # warm up
                plain = await load(client, [("GET", "/healthz", None)] * 800)
                page = await load(client, [("GET", f"/f/{store.slug}/order", None)] * 400)
                posts = [
                    (
                        "POST",
                        f"/f/{store.slug}/order",
                        {
                            "t": forms.sign_token(runtime.settings.secret_key, store.slug, "order"),
                            f"qty_{offer_ids[i % len(offer_ids)]}": "1",
                            "name": "Покупатель",
                            "phone": f"+7912{i:07d}",
                            "delivery": "pickup",
                        },
                    )
                    for i in range(300)
                ]
                submit = await load(client, posts)
        finally:
            proc.terminate()
            proc.wait(10)
    rows = []
    for share, label in ((0.5, "p50"), (0.99, "p99")):
        base = percentile(plain, share)
        rows.append(Row(f"form: /healthz {label} (c={CONCURRENCY})", base, "ms"))
        rows.append(Row(f"form: form page {label}", percentile(page, share), "ms", base, "info"))
        rows.append(Row(f"form: placing an order {label}", percentile(submit, share), "ms", base, "info"))
    return rows
