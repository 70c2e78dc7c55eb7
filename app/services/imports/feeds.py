"""The store's feed URL: saved with a schedule, fetched safely, imported and applied in one go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.errors import ValidationFailed
from app.i18n import gettext as _
from app.services.imports import jobs
from app.services.imports.fetch import check_url, download
from app.services.imports.records import ImportFileError
from app.tables.control import Tenant
from app.tables.imports import FeedSource, ImportJob
from app.tenancy.runtime import current_tenant

SCHEDULES = {"off": None, "hourly": timedelta(hours=1), "daily": timedelta(days=1)}


@dataclass(frozen=True)
class FeedSettings:
    url: str
    schedule: str


def validate(raw: Mapping[str, str]) -> tuple[FeedSettings | None, dict[str, str]]:
    errors: dict[str, str] = {}
    url = (raw.get("url") or "").strip()
    schedule = raw.get("schedule") or "off"
    if schedule not in SCHEDULES:
        errors["schedule"] = _("Choose one of the offered options.")
    if not url:
        errors["url"] = _("This field is required.")
    else:
        try:
            url = check_url(url)
        except ValueError as exc:
            errors["url"] = str(exc)
    return (None if errors else FeedSettings(url, schedule)), errors


def url_problem(url: str) -> str | None:
    """Why a saved feed link cannot be fetched (in the current language), or None when it can.

    A link saved before the rules grew stricter is shown with its problem on the imports page, and
    a scheduled run of it fails with the same message rather than silently.
    """
    try:
        check_url(url)
    except ValueError as exc:
        return str(exc)
    return None


async def get_feed() -> dict | None:
    return await FeedSource.select().order_by(FeedSource.id).first()


async def save_feed(data: FeedSettings) -> dict:
    now = datetime.now(UTC)
    feed = await get_feed()
    if feed is None:
        await FeedSource.insert(FeedSource(url=data.url, schedule=data.schedule, updated_at=now))
    else:
        await FeedSource.update(
            {FeedSource.url: data.url, FeedSource.schedule: data.schedule, FeedSource.updated_at: now}
        ).where(FeedSource.id == feed["id"])
    await _set_due(data.schedule, now)
    return await get_feed() or {}


async def _set_due(schedule: str, after: datetime) -> None:
    interval = SCHEDULES.get(schedule)
    due = after + interval if interval else None
    await Tenant.update({Tenant.feed_due_at: due}).where(Tenant.id == current_tenant().id)


async def run_feed(storage_root: Path, *, allow_private: bool = False) -> dict:
    """Download the feed and import it straight away (scheduled imports apply without a preview).

    A feed that cannot be fetched becomes a failed import with the reason; this never raises for it.

    Raises:
        ValidationFailed: the store has no feed URL.
    """
    feed = await get_feed()
    if feed is None:
        raise ValidationFailed({"url": _("Save a feed link first.")})
    folder = storage_root / current_tenant().slug / "feed"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "feed.xml"
    started = datetime.now(UTC)
    try:
        await download(feed["url"], target, allow_private=allow_private)
    except ImportFileError as exc:
        job_id = await failed_job(str(exc))
        await _record(feed, started, job_id, str(exc))
        return await jobs.get_job(job_id)
    job_id = await jobs.create_job([target], storage_root)
    await jobs.request_apply_now(job_id)
    job = await jobs.run_job(job_id)
    await _record(feed, started, job_id, job["fatal"])
    target.unlink(missing_ok=True)
    return job


async def _record(feed: dict, started: datetime, job_id: int | None, error: str) -> None:
    await FeedSource.update(
        {FeedSource.last_run_at: started, FeedSource.last_job: job_id, FeedSource.last_error: error[:2000]}
    ).where(FeedSource.id == feed["id"])
    await _set_due(feed["schedule"], started)


async def due_stores(now: datetime | None = None, limit: int = 500) -> list[str]:
    """Slugs whose scheduled feed is due (control plane; no store database is opened)."""
    rows = (
        await Tenant.select(Tenant.slug)
        .where((Tenant.feed_due_at <= (now or datetime.now(UTC))) & (Tenant.status == "active"))
        .order_by(Tenant.feed_due_at)
        .limit(limit)
    )
    return [row["slug"] for row in rows]


async def failed_job(message: str) -> int:
    """Record a fetch that never produced a file as a failed import, so staff see why."""
    rows = await ImportJob.insert(ImportJob(status="failed", fatal=message, filenames=["feed"])).returning(ImportJob.id)
    return int(rows[0]["id"])
