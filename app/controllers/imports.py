"""Catalog imports: upload, preview with a live progress bar, apply or cancel, the row report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.plugins.htmx import HXStopPolling
from litestar.response import Redirect, Response, Stream, Template

from app import jobs
from app.controllers._htmx import Form, content_disposition, redirect, render, wants_fragment
from app.i18n import gettext as _
from app.services.imports import SYNONYMS, feeds, guess_mapping
from app.services.imports import jobs as import_jobs
from app.services.imports.csvfeed import inspect_csv

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
FINAL = {"done", "failed", "cancelled", "previewed", "mapping"}
MAPPING_TARGETS = [
    "external_id",
    "sku",
    "name",
    "description",
    "vendor",
    "category",
    "price",
    "old_price",
    "currency",
    "stock",
    "available",
    "barcode",
    "pictures",
    "url",
    "group_key",
]


def _storage(request: Request[Any, Any, Any]) -> Path:
    return Path(request.app.state.settings.data_dir) / "uploads"


def _slug(request: Request[Any, Any, Any]) -> str:
    return request.scope["state"]["tenant"].slug


def _files(data: dict[str, Any]) -> list[UploadFile]:
    value = data.get("files")
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, UploadFile) and item.filename]


class ImportController(Controller):
    path = "/imports"
    include_in_schema = False

    @get("/", name="imports:list", opt={"permission": "imports.run"})
    async def list_imports(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "imports/index.html", await _index_context())

    @post("/feed", name="imports:save_feed", opt={"permission": "imports.run"})
    async def save_feed(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        form, errors = feeds.validate(data)
        if form is None:
            context = await _index_context(feed_values=data, feed_errors=errors)
            return render(request, "imports/index.html", context, status_code=422)
        await feeds.save_feed(form)
        if data.get("action") == "run":
            await jobs.defer_feed(_slug(request))
        return redirect(request, f"/s/{_slug(request)}/imports/")

    @post("/", name="imports:create", opt={"permission": "imports.run"}, request_max_body_size=MAX_UPLOAD_BYTES)
    async def create_import(self, request: Request[Any, Any, Any], data: Multipart) -> Template | Redirect:
        files = _files(data)
        if not files:
            context = await _index_context(errors={"files": _("Choose a file to import.")})
            return render(request, "imports/index.html", context, status_code=422)
        uploads = [import_jobs.Upload(f.filename, f.file) for f in files]
        currency = str(data.get("currency") or "")[:3] or None
        member = request.scope["state"]["member"]
        job_id = await import_jobs.create_job(
            uploads,
            _storage(request),
            created_by=member.identity_id,
            options={"currency": currency} if currency else {},
        )
        job = await import_jobs.get_job(job_id)
        if job["status"] == "queued":
            await jobs.defer_import(_slug(request), job_id)
        return redirect(request, f"/s/{_slug(request)}/imports/{job_id}")

    @get("/{job_id:int}", name="imports:show", opt={"permission": "imports.run"})
    async def show_import(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template:
        job = await import_jobs.get_job(job_id)
        return render(request, "imports/show.html", await _job_context(job), fragment="imports/_job.html")

    @get("/{job_id:int}/progress", name="imports:progress", opt={"permission": "imports.run"})
    async def show_progress(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template | Response[str]:
        job = await import_jobs.get_job(job_id)
        context = await _job_context(job)
        if job["status"] in FINAL and wants_fragment(request):
            # 286 stops htmx polling; the final card replaces the progress bar.
            response = render(request, "imports/show.html", context, fragment="imports/_job.html")
            response.status_code = HXStopPolling().status_code
            return response
        return render(request, "imports/show.html", context, fragment="imports/_job.html")

    @post("/{job_id:int}/apply", name="imports:apply", opt={"permission": "imports.run"})
    async def apply_import(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template | Redirect:
        await import_jobs.request_apply(job_id)
        await jobs.defer_import(_slug(request), job_id)
        return redirect(request, f"/s/{_slug(request)}/imports/{job_id}")

    @post("/{job_id:int}/cancel", name="imports:cancel", opt={"permission": "imports.run"})
    async def cancel_import(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template | Redirect:
        await import_jobs.cancel(job_id)
        return redirect(request, f"/s/{_slug(request)}/imports/{job_id}")

    @post("/{job_id:int}/mapping", name="imports:mapping", opt={"permission": "imports.run"})
    async def save_mapping(
        self, request: Request[Any, Any, Any], job_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        mapping = {
            target: column
            for target, column in data.items()
            if target in MAPPING_TARGETS and column and len(column) <= 200
        }
        if "name" not in mapping or "price" not in mapping:
            job = await import_jobs.get_job(job_id)
            context = await _job_context(job, mapping_errors={"name": _("Choose the columns for name and price.")})
            return render(request, "imports/show.html", context, fragment="imports/_job.html", status_code=422)
        await import_jobs.set_mapping(job_id, mapping)
        await jobs.defer_import(_slug(request), job_id)
        return redirect(request, f"/s/{_slug(request)}/imports/{job_id}")

    @get("/{job_id:int}/report.csv", name="imports:report", opt={"permission": "imports.run"})
    async def download_report(self, job_id: FromPath[int]) -> Stream:
        lines = await import_jobs.report_csv(job_id)
        return Stream(
            lines,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": content_disposition(f"import-{job_id}-report.csv")},
        )


async def _index_context(
    errors: dict[str, str] | None = None,
    feed_values: dict[str, str] | None = None,
    feed_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    feed = await feeds.get_feed()
    values = feed_values or ({"url": feed["url"], "schedule": feed["schedule"]} if feed else {"schedule": "off"})
    if feed_errors is None and feed and (problem := feeds.url_problem(feed["url"])):
        feed_errors = {"url": problem}
    return {
        "jobs": await import_jobs.list_jobs(),
        "errors": errors or {},
        "feed": feed,
        "feed_values": values,
        "feed_errors": feed_errors or {},
        "schedules": list(feeds.SCHEDULES),
    }


async def _job_context(job: dict, mapping_errors: dict[str, str] | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "issues": await import_jobs.issues(job["id"]), "final": FINAL}
    if job["status"] == "mapping":
        header, _preset = inspect_csv(Path(job["storage"]) / job["filenames"][0])
        context.update(
            header=header,
            guessed=guess_mapping(header),
            targets=MAPPING_TARGETS,
            mapping_errors=mapping_errors or {},
            synonyms=SYNONYMS,
        )
    return context
