"""Background jobs on real worker processes: an import whose worker is SIGKILLed mid-way is retried by
another worker and is all-or-nothing; per-store locks keep one import per store; periodic tasks exist."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from app import jobs
from app.services.imports import jobs as import_jobs
from app.tables.catalog import Offer
from app.tables.imports import ImportJob
from app.tenancy import runtime as tenancy
from tests import procs
from tests.conftest import make_store

pytestmark = pytest.mark.integration

OFFERS = 50_000
HEARTBEAT = "1"
STALLED = "3"


def write_feed(path: Path, offers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog><shop><categories>')
        out.write('<category id="1">Всё</category></categories><offers>\n')
        for i in range(offers):
            out.write(
                f'<offer id="{i}"><name>Товар номер {i}</name><price>{100 + i % 9000}.50</price>'
                f"<categoryId>1</categoryId><vendorCode>SKU-{i:07d}</vendorCode>"
                f"<description>Описание товара {i}</description></offer>\n"
            )
        out.write("</offers></shop></yml_catalog>\n")


async def _job_row(job_id: int) -> dict:
    return (await ImportJob.select(ImportJob.status, ImportJob.bytes_done).where(ImportJob.id == job_id).first()) or {}


async def _queue_row(procrastinate_id: int) -> dict:
    conn = await jobs_conn()
    try:
        query = "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = $1"
        row = await conn.fetchrow(query, procrastinate_id)
        return dict(row)
    finally:
        await conn.close()


async def jobs_conn() -> asyncpg.Connection:
    runtime = tenancy.get_runtime()
    return await asyncpg.connect(runtime.primary_dsn, database=runtime.settings.db.control_database)


async def test_an_import_whose_worker_is_killed_is_retried_elsewhere_and_all_or_nothing(
    runtime, settings, tmp_path
) -> None:
    store = await make_store("killed-import")
    feed = tmp_path / "big.xml"
    write_feed(feed, OFFERS)
    storage = settings.data_dir / "uploads"
    async with tenancy.bind_tenant(store.tenant):
        job_id = await import_jobs.create_job([feed], storage)
        await import_jobs.request_apply_now(job_id)
    queued = await jobs.jobs_app.configure_task("imports.run", lock=f"imports:{store.slug}").defer_async(
        slug=store.slug, job_id=job_id
    )
    env = procs.app_env(
        settings, AUTOOFFICE_WORKER_HEARTBEAT_SECONDS=HEARTBEAT, AUTOOFFICE_WORKER_STALLED_SECONDS=STALLED
    )
    first = procs.worker(env, tmp_path / "worker-1.log", "--queue", "imports")
    second = None
    try:
        # Wait until the first worker is well into the import (rows streaming into the open transaction).
        deadline = time.monotonic() + 120
        async with tenancy.bind_tenant(store.tenant):
            while True:
                row = await _job_row(job_id)
                if row.get("status") == "applying" and row.get("bytes_done", 0) > 0:
                    break
                assert row.get("status") in ("queued", "applying"), row
                assert first.popen.poll() is None, first.log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the first worker never started the import"
                await asyncio.sleep(0.1)
        first.kill()

        # Nothing of the half-done import is visible: it was one transaction, and it died with its worker.
        async with tenancy.bind_tenant(store.tenant):
            assert await Offer.count() == 0
            assert (await _job_row(job_id))["status"] == "applying"
        assert (await _queue_row(queued))["status"] == "doing"

        # Another worker, started once the dead one's heartbeat is stale, takes the job back and finishes it.
        await asyncio.sleep(float(STALLED) + 1.5)
        second = procs.worker(env, tmp_path / "worker-2.log", "--queue", "imports")
        deadline = time.monotonic() + 240
        # One read per turn: the job may finish between two reads.
        while (status := (await _queue_row(queued))["status"]) != "succeeded":
            assert second.popen.poll() is None, second.log.read_text()[-2000:]
            assert status in ("doing", "todo"), status
            assert time.monotonic() < deadline, "the retried import did not finish"
            await asyncio.sleep(0.25)
        assert (await _queue_row(queued))["attempts"] >= 1
        async with tenancy.bind_tenant(store.tenant):
            job = await import_jobs.get_job(job_id)
            assert job["status"] == "done", job
            assert job["counts"]["offers_new"] == OFFERS
            assert await Offer.count() == OFFERS  # every row exactly once
        logged = second.log.read_text()
        assert "lost its worker" in logged
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_periodic_tasks_and_per_store_locks_are_declared() -> None:
    periodic = {task.task.name: task.cron for task in jobs.jobs_app.periodic_registry.periodic_tasks.values()}
    assert periodic["jobs.retry_stalled"] == "* * * * *"
    assert {"imports.dispatch_feeds", "payments.reconcile", "forms.sweep_unfinished"} <= set(periodic)


async def test_one_import_per_store_at_a_time_while_other_stores_run_alongside(runtime, settings, tmp_path) -> None:
    first, other = await make_store("locked-a"), await make_store("locked-b")
    feed = tmp_path / "mid.xml"
    write_feed(feed, 6_000)
    queued: dict[str, list[int]] = {first.slug: [], other.slug: []}
    for store, count in ((first, 2), (other, 1)):
        for _ in range(count):
            async with tenancy.bind_tenant(store.tenant):
                job_id = await import_jobs.create_job([feed], settings.data_dir / "uploads")
                await import_jobs.request_apply_now(job_id)
            await jobs.defer_import(store.slug, job_id)
            queued[store.slug].append(job_id)
    # A one-shot worker stops when nothing can be fetched; the store's second import is locked until the
    # first is done, so it takes another round.
    for _round in range(5):
        await jobs.run_worker(concurrency=3, wait=False, queues=["imports"])
    spans = {}
    for store in (first, other):
        async with tenancy.bind_tenant(store.tenant):
            for job_id in queued[store.slug]:
                job = await import_jobs.get_job(job_id)
                assert job["status"] == "done", job
                spans[(store.slug, job_id)] = (job["started_at"], job["finished_at"])
            assert await Offer.count() == 6_000
    (a1, a2) = (spans[(first.slug, j)] for j in queued[first.slug])
    (b1,) = (spans[(other.slug, j)] for j in queued[other.slug])
    assert a1[1] <= a2[0] or a2[1] <= a1[0], "two imports of one store overlapped"
    assert b1[0] < max(a1[1], a2[1]) and b1[1] > min(a1[0], a2[0]), "the other store waited for no reason"
