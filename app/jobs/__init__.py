"""Background jobs on procrastinate: a PostgreSQL queue in the control database.

Any number of ``autooffice worker`` processes on any machines take jobs; ``make run`` runs one inside
the web process. A job names its store by slug and binds it exactly as a request would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from app.i18n import use_locale
from app.services import automation, forms, invitations, notifications, payments, reminders, segments
from app.services.fleet import active_stores
from app.services.imports import feeds
from app.services.imports import jobs as import_jobs
from app.services.mail import mail_settings_from_env
from app.settings import Settings, get_settings
from app.tenancy.runtime import UNAVAILABLE_ERRORS, TenantInfo, bind_tenant, get_runtime, lookup_tenant

jobs_app = App(connector=PsycopgConnector())
log = logging.getLogger("autooffice.jobs")
_pool: AsyncConnectionPool | None = None
_users = 0
_lock = asyncio.Lock()


def conninfo(dsn: str, settings: Settings) -> str:
    return make_conninfo(dsn, dbname=settings.db.control_database)


async def ensure_schema(dsn: str, settings: Settings) -> None:
    """Create procrastinate's tables in the control database once."""
    conn = await asyncpg.connect(dsn, database=settings.db.control_database)
    try:
        exists = await conn.fetchval("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
    finally:
        await conn.close()
    if not exists:
        async with opened(dsn, settings):
            await jobs_app.schema_manager.apply_schema_async()


@contextlib.asynccontextmanager
async def opened(dsn: str, settings: Settings) -> AsyncIterator[App]:
    """Open the job app's connection pool for the enclosed code (shared, reference counted)."""
    global _pool, _users
    async with _lock:
        if _pool is None:
            # check: a connection that died with its server (restart, failover) is replaced, not handed out.
            _pool = AsyncConnectionPool(
                conninfo(dsn, settings),
                min_size=1,
                max_size=4,
                open=False,
                check=AsyncConnectionPool.check_connection,
            )
            await _pool.open(wait=True)
            await jobs_app.open_async(_pool)
        _users += 1
    try:
        yield jobs_app
    finally:
        async with _lock:
            _users -= 1
            if _users == 0 and _pool is not None:
                # procrastinate leaves a pool it was given open and keeps pointing at it (its
                # close_async skips external pools, and open_async returns early while one is set),
                # so a later open (another runtime in the same process: tests, `make bench`) would
                # reuse a closed pool aimed at the old database. Close ours and detach it.
                await jobs_app.close_async()
                await _pool.close()
                connector = jobs_app.connector
                connector._async_pool = None  # type: ignore[attr-defined]
                connector._pool_externally_set = False  # type: ignore[attr-defined]
                _pool = None


async def run_worker(*, concurrency: int = 2, wait: bool = True, queues: list[str] | None = None) -> None:
    """Work through the queue; with ``wait=False`` return once it is empty (tests, one-shot runs).

    The worker beats every ``worker_heartbeat_seconds``; if it dies (machine lost, OOM, SIGKILL) its jobs
    stay "doing" until :func:`retry_stalled` hands them to another worker.
    """
    settings = get_settings()
    await jobs_app.run_worker_async(
        concurrency=concurrency,
        wait=wait,
        queues=queues,
        install_signal_handlers=False,
        update_heartbeat_interval=settings.worker_heartbeat_seconds,
        stalled_worker_timeout=settings.worker_stalled_seconds,
    )


async def retry_stalled_jobs(seconds_since_heartbeat: float | None = None) -> list[int]:
    """Put back in the queue the jobs whose worker stopped beating; returns their ids."""
    seconds = get_settings().worker_stalled_seconds if seconds_since_heartbeat is None else seconds_since_heartbeat
    retried = []
    for job in await jobs_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        await jobs_app.job_manager.retry_job(job)
        retried.append(job.id)
        log.warning("job %s (%s) lost its worker; queued again", job.id, job.task_name)
    return retried


@jobs_app.periodic(cron="* * * * *")
@jobs_app.task(name="jobs.retry_stalled", queue="maintenance", queueing_lock="retry_stalled")
async def retry_stalled(timestamp: int) -> None:
    """Every minute: jobs of dead workers go back to the queue (their transactions were rolled back)."""
    await retry_stalled_jobs()


@jobs_app.task(
    name="imports.run",
    queue="imports",
    retry=RetryStrategy(max_attempts=3, wait=5, retry_exceptions={OSError}),
    pass_context=True,
)
async def run_import(context: JobContext, slug: str, job_id: int) -> None:
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    async with bind_tenant(tenant):
        with use_locale(tenant.locale):
            if context.job.attempts > 0:
                # An earlier attempt died mid-way; its transaction was rolled back, so start over.
                await import_jobs.requeue_interrupted(job_id)
            await import_jobs.run_job(job_id)


@jobs_app.task(name="imports.fetch_feed", queue="imports")
async def fetch_feed(slug: str) -> None:
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    settings = get_settings()
    async with bind_tenant(tenant):
        with use_locale(tenant.locale):
            await feeds.run_feed(settings.data_dir / "uploads", allow_private=settings.feed_allow_private)


@jobs_app.periodic(cron="*/5 * * * *")
@jobs_app.task(name="imports.dispatch_feeds", queue="imports", queueing_lock="dispatch_feeds")
async def dispatch_feeds(timestamp: int) -> None:
    """Every five minutes: queue the stores whose scheduled feed is due (one queued fetch per store)."""
    for slug in await feeds.due_stores():
        await defer_feed(slug)


@jobs_app.periodic(cron="*/10 * * * *")
@jobs_app.task(name="forms.sweep_unfinished", queue="mail", queueing_lock="sweep_unfinished")
async def sweep_unfinished(timestamp: int) -> None:
    """Every ten minutes, in every active store: contacts left in unsent forms become leads."""
    await _in_each_store(lambda _tenant: forms.sweep_unfinished())


async def _in_each_store(work: Callable[[TenantInfo], Awaitable[object]]) -> None:
    """Run ``work`` bound to each active store in turn. A store whose server is down or that is being
    moved is skipped this round; the other stores go on."""
    for slug in await active_stores():
        tenant = await lookup_tenant(slug)
        if tenant is None:
            continue
        try:
            async with bind_tenant(tenant):
                await work(tenant)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("skipped store %s this round: %s", slug, type(exc).__name__)


@jobs_app.periodic(cron="* * * * *")
@jobs_app.task(name="payments.reconcile", queue="payments", queueing_lock="reconcile_payments")
async def reconcile_payments(timestamp: int) -> None:
    """Every minute: queue a check for each store whose payments are due (read from the control plane alone,
    so thousands of stores without open payments cost one indexed query)."""
    for slug in await payments.due_stores():
        await defer_reconcile(slug)


@jobs_app.task(name="payments.reconcile_store", queue="payments")
async def reconcile_store(slug: str) -> None:
    """Ask the gateways about one store's due payments (backoff per payment), then record its next due time."""
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    settings = get_settings()
    try:
        async with bind_tenant(tenant):
            with use_locale(tenant.locale):
                await payments.reconcile_due(payments.Keys(settings.secret_key, settings.public_url))
    except UNAVAILABLE_ERRORS as exc:  # a server down or a store moving: checked again on its next due time
        log.warning("skipped store %s this round: %s", slug, type(exc).__name__)


async def defer_reconcile(slug: str) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        await jobs_app.configure_task(
            "payments.reconcile_store", lock=f"payments:{slug}", queueing_lock=f"reconcile:{slug}"
        ).defer_async(slug=slug)


@jobs_app.periodic(cron="17 * * * *")
@jobs_app.task(name="segments.refresh", queue="segments", queueing_lock="segments_refresh")
async def refresh_segments(timestamp: int) -> None:
    """Every hour, in every active store: RFM classes (recency moves with the clock) and today's segment sizes."""
    await _in_each_store(lambda _tenant: segments.refresh_all())


async def defer_feed(slug: str) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        await jobs_app.configure_task(
            "imports.fetch_feed", lock=f"imports:{slug}", queueing_lock=f"feed:{slug}"
        ).defer_async(slug=slug)


@jobs_app.task(name="mail.order_placed", queue="mail", retry=RetryStrategy(max_attempts=5, wait=30))
async def order_mail(slug: str, order_id: int) -> None:
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    async with bind_tenant(tenant):
        await notifications.order_placed(order_id, get_settings().public_url, mail_settings_from_env())


async def defer_order_mail(slug: str, order_id: int) -> None:
    await jobs_app.configure_task("mail.order_placed").defer_async(slug=slug, order_id=order_id)


@jobs_app.task(name="mail.staff_invitation", queue="mail", retry=RetryStrategy(max_attempts=5, wait=30))
async def invitation_mail(slug: str, invitation_id: int) -> None:
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    settings = get_runtime().settings  # the running process's secret: the link is signed with it
    async with bind_tenant(tenant):
        await invitations.send_invitation(
            invitation_id,
            secret=settings.secret_key,
            slug=slug,
            public_url=settings.public_url,
            settings=mail_settings_from_env(),
        )


async def defer_invitation_mail(slug: str, invitation_id: int) -> None:
    await jobs_app.configure_task("mail.staff_invitation").defer_async(slug=slug, invitation_id=invitation_id)


async def defer_import(slug: str, job_id: int) -> None:
    """Queue a store's import; one import per store runs at a time."""
    await jobs_app.configure_task("imports.run", lock=f"imports:{slug}").defer_async(slug=slug, job_id=job_id)


def automation_env() -> automation.Env:
    settings = get_settings()
    return automation.Env(settings.public_url, mail_settings_from_env(), settings.hooks_allow_private)


async def _drain_store(slug: str) -> None:
    """Run the store's pending automation events; delayed runs are queued for their moment."""
    tenant = await lookup_tenant(slug)
    if tenant is None:
        return
    async with bind_tenant(tenant):
        with use_locale(tenant.locale):
            delayed = await automation.drain(automation_env())
    for run_id, seconds in delayed:
        await jobs_app.configure_task("automation.run", schedule_in={"seconds": seconds}).defer_async(
            slug=slug, run_id=run_id
        )


@jobs_app.task(name="automation.drain", queue="automation")
async def drain_automation(slug: str) -> None:
    await _drain_store(slug)


@jobs_app.task(name="automation.run", queue="automation")
async def run_automation(slug: str, run_id: int) -> None:
    """A delayed rule run, queued with ``schedule_in`` when its event was handled."""
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is None:
        return
    async with bind_tenant(tenant):
        with use_locale(tenant.locale):
            await automation.execute(run_id, automation_env())


@jobs_app.periodic(cron="* * * * *")
@jobs_app.task(name="automation.tick", queue="automation", queueing_lock="automation_tick")
async def automation_tick(timestamp: int) -> None:
    """Every minute, in every active store: pending events, overdue delayed runs, task reminders."""
    settings = get_settings()

    async def tick(tenant: TenantInfo) -> None:
        await _drain_store(tenant.slug)
        with use_locale(tenant.locale):
            await automation.run_due(automation_env())
            await reminders.send_due(settings.public_url, mail_settings_from_env())

    await _in_each_store(tick)


@jobs_app.periodic(cron="*/10 * * * *")
@jobs_app.task(name="automation.segments", queue="automation", queueing_lock="automation_segments")
async def scan_segments(timestamp: int) -> None:
    """Every ten minutes: customers who entered a segment that a rule watches become events."""

    async def scan(tenant: TenantInfo) -> None:
        if await automation.scan_segments():
            await _drain_store(tenant.slug)

    await _in_each_store(scan)


@jobs_app.periodic(cron="17 3 * * *")
@jobs_app.task(name="automation.no_order", queue="automation", queueing_lock="automation_no_order")
async def scan_no_order(timestamp: int) -> None:
    """Daily: customers who have not ordered for a rule's N days become ``no_order`` events."""

    async def scan(tenant: TenantInfo) -> None:
        await automation.prune()
        await automation.scan_no_order()
        await _drain_store(tenant.slug)

    await _in_each_store(scan)


async def kick_automation(slug: str) -> None:
    """Entry points call this after a change that may have emitted events, so rules run at once."""
    with contextlib.suppress(AlreadyEnqueued):
        await jobs_app.configure_task(
            "automation.drain", lock=f"automation:{slug}", queueing_lock=f"automation:{slug}"
        ).defer_async(slug=slug)
