"""Import jobs: files kept until the job ends, preview then apply, progress, cancel, the row report."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.errors import Conflict, NotFound
from app.i18n import get_locale, messages
from app.i18n import gettext as _
from app.services import audit, spreadsheet
from app.services.imports.apply import ApplyResult, ImportCancelled, apply_stream
from app.services.imports.csvfeed import inspect_csv
from app.services.imports.detect import detect_format
from app.services.imports.pipeline import StreamSpec
from app.services.imports.records import ImportFileError
from app.tables.imports import ImportIssue, ImportJob
from app.tables.stores import StoreSetting
from app.tenancy.runtime import current_tenant, store_transaction

ACTIVE = ("queued", "previewing", "applying")
PROGRESS_EVERY = 0.5
_SAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: BinaryIO


def _safe_name(name: str, index: int) -> str:
    cleaned = _SAFE.sub("_", Path(name or "").name).strip("._")[:120]
    return cleaned or f"file-{index}"


async def create_job(
    uploads: Sequence[Upload | Path],
    storage_root: Path,
    *,
    created_by: int | None = None,
    options: dict | None = None,
    fmt: str | None = None,
) -> int:
    """Keep the files and queue a preview. A file refused outright still gets a job, marked failed."""
    tenant = current_tenant()
    rows = await ImportJob.insert(ImportJob(created_by=created_by, options=options or {})).returning(ImportJob.id)
    job_id = int(rows[0]["id"])
    folder = storage_root / tenant.slug / str(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for index, upload in enumerate(uploads):
        if isinstance(upload, Path):
            name = _safe_name(upload.name, index)
            shutil.copyfile(upload, folder / name)
        else:
            name = _safe_name(upload.filename, index)
            with (folder / name).open("wb") as out:
                shutil.copyfileobj(upload.stream, out, 1024 * 1024)
        names.append(name)
    total = sum((folder / name).stat().st_size for name in names)
    values = {ImportJob.filenames: names, ImportJob.storage: str(folder), ImportJob.bytes_total: total}
    try:
        fmt = fmt or (detect_format(folder / names[0]) if names else None)
        if fmt is None:
            raise ImportFileError("no_file", messages.gettext("Choose a file to import."))
        values[ImportJob.format] = fmt
        values[ImportJob.source] = fmt
        if fmt == "csv" and not (options or {}).get("mapping"):
            _header, preset = inspect_csv(folder / names[0])
            if preset is None:
                values[ImportJob.status] = "mapping"
    except ImportFileError as exc:
        values.update({**_fatal(exc), ImportJob.finished_at: _now()})
        shutil.rmtree(folder, ignore_errors=True)
    async with store_transaction():
        await ImportJob.update(values).where(ImportJob.id == job_id)
        await _audit(job_id, created_by, values, {"files": names, "format": values.get(ImportJob.format)})
    return job_id


def _message(data: object, text: str = "") -> object:
    """A stored message as a ``Message`` again (nested ones too), so the log shows it in its reader's language."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return data if text == "" else text
    params = {key: _message(value) for key, value in (data.get("params") or {}).items()}
    return messages.Message(text or messages.render(data), data["id"], params)


async def _audit(job_id: int, actor_id: int | None, values: dict, facts: dict) -> None:
    """Imports in the audit log: started (the files taken), applied (what changed) or failed (why)."""
    status = values.get(ImportJob.status)
    if status == "failed":
        reason = _message(values.get(ImportJob.fatal_data), str(values.get(ImportJob.fatal) or ""))
        summary = messages.gettext("Import #%(id)s failed: %(reason)s", id=job_id, reason=reason)
        action = "import_fail"
    elif status == "done":
        action, summary = "import_apply", messages.gettext("Import #%(id)s applied", id=job_id)
    elif "files" in facts:
        action, summary = "import_start", messages.gettext("Import #%(id)s started", id=job_id)
    else:
        return  # a preview changes nothing
    await audit.record("import", job_id, action, actor_id=actor_id, summary=summary, after=facts)


def _fatal(exc: ImportFileError) -> dict:
    reason = exc.describe()
    return {ImportJob.status: "failed", ImportJob.fatal: str(reason), ImportJob.fatal_data: messages.as_data(reason)}


def _now() -> datetime:
    return datetime.now(UTC)


def _spec(job: dict) -> StreamSpec:
    return StreamSpec(job["storage"], tuple(job["filenames"]), job["format"], job["options"] or {}, get_locale())


async def run_job(job_id: int) -> dict:
    """Run a queued job (preview or apply, by its ``mode``); never raises for a bad file."""
    job = await get_job(job_id)
    if job["status"] != "queued":
        return job
    apply = job["mode"] == "apply"
    await ImportJob.update(
        {ImportJob.status: "applying" if apply else "previewing", ImportJob.started_at: _now(), ImportJob.bytes_done: 0}
    ).where(ImportJob.id == job_id)
    progress, cancelled, done = [0], [False], asyncio.Event()
    reporter = asyncio.create_task(_report(job_id, progress, cancelled, done))
    values: dict = {}
    result: ApplyResult | None = None
    try:
        settings = await StoreSetting.select(StoreSetting.currency).first()
        result = await apply_stream(
            _spec(job),
            source=job["source"],
            currency=(settings or {}).get("currency", "RUB"),
            apply=apply,
            progress=progress,
            should_stop=lambda: cancelled[0],
        )
        values = _finished(result, apply)
    except ImportFileError as exc:
        values = _fatal(exc)
    except ImportCancelled:
        values = {ImportJob.status: "cancelled"}
    finally:
        done.set()
        await reporter
    await _save_issues(job_id, result)
    values[ImportJob.finished_at] = _now()
    async with store_transaction():
        await ImportJob.update(values).where(ImportJob.id == job_id)
        await _audit(job_id, job["created_by"], values, dict(values.get(ImportJob.counts) or {}))
    if values[ImportJob.status] in {"done", "failed", "cancelled"}:
        shutil.rmtree(job["storage"], ignore_errors=True)
    return await get_job(job_id)


def _finished(result: ApplyResult, apply: bool) -> dict:
    errors = sum(1 for issue in result.issues if issue.severity == "error")
    return {
        ImportJob.status: "done" if apply else "previewed",
        ImportJob.counts: {**result.counts, "issues": result.issue_total},
        ImportJob.is_full: result.is_full,
        ImportJob.errors: errors,
        ImportJob.warnings: len(result.issues) - errors,
    }


async def _report(job_id: int, progress: list[int], cancelled: list[bool], done: asyncio.Event) -> None:
    """Publish progress and pick up a cancel request on a connection of its own (outside the transaction)."""
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), PROGRESS_EVERY)
        rows = (
            await ImportJob.update({ImportJob.bytes_done: progress[0]})
            .where(ImportJob.id == job_id)
            .returning(ImportJob.cancel_requested)
        )
        cancelled[0] = bool(rows and rows[0]["cancel_requested"])


async def _save_issues(job_id: int, result: ApplyResult | None) -> None:
    await ImportIssue.delete().where(ImportIssue.job == job_id)
    if result is None or not result.issues:
        return
    rows = [
        ImportIssue(
            job=job_id,
            line=i.line,
            field=i.field and i.field[:64],
            code=i.code[:64],
            message=i.message,
            message_data=messages.as_data(i.message),
            severity=i.severity,
            external_id=i.external_id and i.external_id[:255],
            source_file=i.source and i.source[:255],
        )
        for i in result.issues
    ]
    for start in range(0, len(rows), 1000):
        await ImportIssue.insert(*rows[start : start + 1000])


async def get_job(job_id: int) -> dict:
    """A job; ``fatal`` is in the viewer's language when it was stored as a message."""
    job = await ImportJob.select().where(ImportJob.id == job_id).output(load_json=True).first()
    if job is None:
        raise NotFound(_("This import does not exist."))
    job["fatal"] = messages.render(job.get("fatal_data"), job["fatal"])
    return job


async def list_jobs(limit: int = 20) -> list[dict]:
    return await ImportJob.select().order_by(ImportJob.id, ascending=False).limit(limit).output(load_json=True)


async def requeue_interrupted(job_id: int) -> bool:
    """A job left "applying"/"previewing" by a worker that died goes back to "queued" (nothing was kept:
    the whole import is one transaction). Only called on a retry, under the store's import lock."""
    rows = (
        await ImportJob.update({ImportJob.status: "queued", ImportJob.bytes_done: 0})
        .where((ImportJob.id == job_id) & ImportJob.status.is_in(["applying", "previewing"]))
        .returning(ImportJob.id)
    )
    return bool(rows)


async def request_apply(job_id: int) -> dict:
    """Queue the apply step of a previewed job.

    Raises:
        Conflict: the job is not waiting for approval.
    """
    rows = (
        await ImportJob.update({ImportJob.mode: "apply", ImportJob.status: "queued"})
        .where((ImportJob.id == job_id) & (ImportJob.status == "previewed"))
        .returning(ImportJob.id)
    )
    if not rows:
        raise Conflict(_("This import cannot be applied now."))
    return await get_job(job_id)


async def request_apply_now(job_id: int) -> None:
    """Skip the preview: the command line's non-interactive import, and benchmarks."""
    await ImportJob.update({ImportJob.mode: "apply"}).where((ImportJob.id == job_id) & (ImportJob.status == "queued"))


async def set_mapping(job_id: int, mapping: dict[str, str]) -> dict:
    await ImportJob.update({ImportJob.options: {"mapping": mapping}, ImportJob.status: "queued"}).where(
        (ImportJob.id == job_id) & (ImportJob.status == "mapping")
    )
    return await get_job(job_id)


async def cancel(job_id: int) -> dict:
    """Stop a running job, or drop one that waits; nothing it staged is kept."""
    job = await get_job(job_id)
    if job["status"] in {"queued", "previewed", "mapping"}:
        await ImportJob.update({ImportJob.status: "cancelled", ImportJob.finished_at: _now()}).where(
            ImportJob.id == job_id
        )
        shutil.rmtree(job["storage"], ignore_errors=True)
    elif job["status"] in ACTIVE:
        await ImportJob.update({ImportJob.cancel_requested: True}).where(ImportJob.id == job_id)
    return await get_job(job_id)


def _rendered(rows: list[dict]) -> list[dict]:
    """Each row's message in the viewer's language (rows written before message ids keep their text)."""
    for row in rows:
        row["message"] = messages.render(row.get("message_data"), row["message"])
    return rows


def severity_label(severity: str) -> str:
    return {"error": _("Error"), "warning": _("Warning")}.get(severity, severity)


async def issues(job_id: int, limit: int = 200) -> list[dict]:
    query = ImportIssue.select().where(ImportIssue.job == job_id).order_by(ImportIssue.id).limit(limit)
    return _rendered(await query.output(load_json=True))


async def report_csv(job_id: int) -> Iterator[str]:
    """The row report as CSV lines (file, line, field, severity, code, message, id)."""
    await get_job(job_id)
    query = ImportIssue.select().where(ImportIssue.job == job_id).order_by(ImportIssue.id)
    rows = _rendered(await query.output(load_json=True))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("File"), _("Line"), _("Field"), _("Severity"), _("Code"), _("Message"), _("Id")])
    for row in rows:
        cells = [
            row["source_file"] or "",
            row["line"] or "",
            row["field"] or "",
            severity_label(row["severity"]),
            row["code"],
            row["message"],
            row["external_id"] or "",
        ]
        writer.writerow(spreadsheet.csv_row(cells))  # a supplier's values never run as formulas
    return iter([buffer.getvalue()])
