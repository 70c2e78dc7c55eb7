"""Order history import: upload, a preview with exact counts and the row report, then apply whole."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template

from app.controllers._htmx import render
from app.i18n import gettext as _
from app.services.imports import orders_apply, orders_uploads
from app.services.imports.orders_csv import COLUMNS
from app.services.imports.orders_model import FORMATS

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
MAX_UPLOAD_BYTES = orders_apply.MAX_BYTES + 1024 * 1024
PAGE, FRAGMENT = "imports/orders.html", "imports/_orders.html"


def _storage(request: Request[Any, Any, Any]) -> Path:
    return Path(request.app.state.settings.data_dir) / "uploads"


def _mapping(data: dict[str, Any]) -> dict[str, str]:
    """Our column -> the file's header, from the form's optional ``map_<column>`` fields."""
    return {
        column: str(data.get(f"map_{column}") or "").strip()[:200]
        for column in COLUMNS
        if str(data.get(f"map_{column}") or "").strip()
    }


async def _uploads(data: dict[str, Any]) -> list[tuple[str, bytes]]:
    value = data.get("files")
    items = value if isinstance(value, list) else [value]
    return [(f.filename, await f.read()) for f in items if isinstance(f, UploadFile) and f.filename]


class OrderImportController(Controller):
    path = "/imports/orders"
    include_in_schema = False

    @get("/", name="order_imports:new", opt={"permission": "imports.run"})
    async def new_order_import(self, request: Request[Any, Any, Any]) -> Template:
        context = {"formats": FORMATS, "values": {}, "errors": {}, "columns": COLUMNS}
        return render(request, PAGE, context, fragment=FRAGMENT)

    @post("/", name="order_imports:preview", opt={"permission": "imports.run"}, request_max_body_size=MAX_UPLOAD_BYTES)
    async def preview_order_import(self, request: Request[Any, Any, Any], data: Multipart) -> Template:
        fmt = str(data.get("format") or "") or None
        files = await _uploads(data)
        errors = {}
        if fmt is not None and fmt not in FORMATS:
            errors["format"] = _("Choose one of the formats in the list.")
        if not files:
            errors["files"] = _("Choose a file to import.")
        mapping = _mapping(data)
        values = {"format": fmt or ""} | {f"map_{column}": title for column, title in mapping.items()}
        context: dict[str, Any] = {"formats": FORMATS, "values": values, "errors": errors, "columns": COLUMNS}
        if errors:
            return render(request, PAGE, context, fragment=FRAGMENT, status_code=422)
        report = await orders_apply.import_files(files, fmt=fmt, dry_run=True, mapping=mapping)
        context["report"] = report
        if report.issues:
            return render(request, PAGE, context, fragment=FRAGMENT, status_code=422)
        context["token"] = orders_uploads.save(_storage(request), files, fmt, mapping)
        return render(request, PAGE, context, fragment=FRAGMENT)

    @post("/{token:str}/apply", name="order_imports:apply", opt={"permission": "imports.run"})
    async def apply_order_import(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        files, fmt, mapping = orders_uploads.load(_storage(request), token)
        report = await orders_apply.import_files(files, fmt=fmt, mapping=mapping)
        context = {"formats": FORMATS, "values": {}, "errors": {}, "report": report, "columns": COLUMNS}
        # The upload is kept (for a day): applying it again is harmless, every order is already there.
        return render(request, PAGE, context, fragment=FRAGMENT, status_code=200 if report.applied else 422)
