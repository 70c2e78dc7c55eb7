"""Staff segment screens: RFM (heat map, thresholds), segments (rule editor, lists, sizes, export), the portrait."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from app.controllers._htmx import Form, content_disposition, redirect, render
from app.forms.rules import record_id
from app.i18n import format_date, format_number
from app.i18n import gettext as _
from app.services import charts, portrait, rfm, segments, segments_export


def _tenant(request: Request[Any, Any, Any]) -> Any:
    return request.scope["state"]["tenant"]


class SegmentController(Controller):
    path = "/segments"
    include_in_schema = False

    @get("/", name="segments:list", opt={"permission": "segments.view"})
    async def list_segments(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "segments/index.html", await _index(), fragment=None)

    @post("/rfm", name="segments:rfm", opt={"permission": "segments.edit"})
    async def save_rfm(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        values, errors = rfm.validate_settings(data, _tenant(request).currency)
        if values is None:
            context = await _index(rfm_errors=errors, rfm_values={k: data.get(k, "")[:200] for k in data})
            return render(request, "segments/index.html", context, status_code=422)
        await rfm.save_settings(values)
        return redirect(request, f"/s/{_tenant(request).slug}/segments/")

    @get("/new", name="segments:new", opt={"permission": "segments.edit"})
    async def new_segment(self, request: Request[Any, Any, Any]) -> Template:
        kind = "static" if request.query_params.get("kind") == "static" else "dynamic"
        editor = await _editor(request, None, {"name": "", "kind": kind}, [], {})
        return render(request, "segments/new.html", editor)

    @post("/preview", name="segments:preview", opt={"permission": "segments.edit"})
    async def preview(self, request: Request[Any, Any, Any], data: Form) -> Template:
        rows = segments.rows_of(data)
        rules, errors = await segments.validate_rules(rows, _tenant(request).currency)
        size = None if errors else await segments.count(segments.compile_rules(rules))
        context = await _editor(request, record_id(data.get("segment_id")), data, rows, errors, size)
        return render(
            request, "segments/new.html", context, fragment="segments/_editor.html", status_code=422 if errors else 200
        )

    @post("/new", name="segments:create", opt={"permission": "segments.edit"})
    async def create_segment(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        return await _save(request, None, data)

    @get("/portrait", name="segments:portrait", opt={"permission": "segments.view"})
    async def show_portrait(self, request: Request[Any, Any, Any]) -> Template:
        group = request.query_params.get("group") or "rfm:champions"
        where, group_name = await _group(group)
        result = await portrait.build(where, _tenant(request).currency)
        names = portrait.trait_names()
        top = result.traits[:12]
        chart = (
            charts.hbar(
                # pygal draws the first bar at the bottom: reversed, the strongest trait is on top
                {f"{names[t.trait]}: {t.label}": round(t.lift, 2) for t in reversed(top)},
                title=_("Lift of each trait"),
                formatter=lambda v: format_number(v) + "×",
            )
            if top
            else ""
        )
        context = {
            "portrait": result,
            "story": portrait.story(result),
            "chart": chart,
            "group": group,
            "group_name": group_name,
            "trait_names": names,
            "min_sample": portrait.MIN_SAMPLE,
            "rfm_labels": rfm.class_labels(),
            "rfm_classes": rfm.CLASSES,
            "segments": await segments.all_segments(),
        }
        return render(request, "segments/portrait.html", context)

    @get("/{segment_id:int}", name="segments:show", opt={"permission": "segments.view"})
    async def show_segment(self, request: Request[Any, Any, Any], segment_id: FromPath[int]) -> Template:
        segment = await segments.get(segment_id)
        rows = segments.rows_for_editor(segment["rules"], _tenant(request).currency)
        return render(request, "segments/show.html", await _show(request, segment, rows, {}))

    @post("/{segment_id:int}", name="segments:update", opt={"permission": "segments.edit"})
    async def update_segment(
        self, request: Request[Any, Any, Any], segment_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        return await _save(request, segment_id, data)

    @post("/{segment_id:int}/delete", name="segments:delete", opt={"permission": "segments.edit"})
    async def delete_segment(self, request: Request[Any, Any, Any], segment_id: FromPath[int]) -> Redirect:
        await segments.delete(segment_id)
        return redirect(request, f"/s/{_tenant(request).slug}/segments/")

    @get("/{segment_id:int}/export", name="segments:export", opt={"permission": "segments.edit"})
    async def export_segment(self, request: Request[Any, Any, Any], segment_id: FromPath[int]) -> Stream:
        segment = await segments.get(segment_id)
        where = await segments.where_of(segment)
        currency = _tenant(request).currency
        if request.query_params.get("format") == "xlsx":
            body = segments_export.xlsx_chunks(where, currency, segment["name"])
            media, ext = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
        else:
            body, media, ext = segments_export.csv_chunks(where, currency), "text/csv; charset=utf-8", "csv"
        disposition = content_disposition(f"{segment['name'] or f'segment-{segment_id}'}.{ext}")
        return Stream(body, media_type=media, headers={"Content-Disposition": disposition})


async def _group(group: str) -> tuple[Any, str]:
    kind, _sep, value = group.partition(":")
    if kind == "segment" and (segment_id := record_id(value)):
        segment = await segments.find(segment_id)
        if segment:
            return await segments.where_of(segment), segment["name"]
    code = value if kind == "rfm" and value in rfm.CLASSES else "champions"
    return segments.compile_rules([{"field": "rfm_class", "op": "is", "value": [code]}]), rfm.class_label(code)


async def _index(rfm_errors: dict | None = None, rfm_values: dict | None = None) -> dict[str, Any]:
    config = await rfm.settings()
    values = {
        "recency_days": ", ".join(str(v) for v in config["recency_days"]),
        "frequency": ", ".join(str(v) for v in config["frequency"]),
        "monetary": "",
    }
    return {
        "heat": await rfm.heatmap(),
        "rfm_labels": rfm.class_labels(),
        "rfm_classes": rfm.CLASSES,
        "rfm_config": config,
        "rfm_values": values | (rfm_values or {}),
        "rfm_errors": rfm_errors or {},
        "segments": await segments.all_segments(),
    }


async def _editor(
    request: Request[Any, Any, Any],
    segment_id: int | None,
    data: dict,
    rows: list[dict],
    errors: dict,
    size: int | None = None,
) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "name": data.get("name", "")[:120],
        "kind": "static" if data.get("kind") == "static" else "dynamic",
        "rows": rows,
        "errors": errors,
        "size": size,
        "fields": segments.field_labels(),
        "ops": segments.op_labels(),
        "templates": segments.TEMPLATES,
        "rfm_labels": rfm.class_labels(),
        "rfm_classes": rfm.CLASSES,
        "categories": await segments.categories(),
        "sources": segments.SOURCES,
        "currency": _tenant(request).currency,
    }


async def _show(request: Request[Any, Any, Any], segment: dict, rows: list[dict], errors: dict) -> dict[str, Any]:
    history = await segments.history(segment["id"])
    chart = charts.line(
        {segment["name"]: [h["size"] for h in history]},
        [format_date(h["day"], "short") for h in history],
        title=_("Segment size by day"),
        formatter=lambda v: format_number(int(v)),
        fill=True,
    )
    editor = await _editor(request, segment["id"], segment, rows, errors, segment["size"])
    return {**editor, "segment": segment, "history": history, "chart": chart}


async def _save(request: Request[Any, Any, Any], segment_id: int | None, data: dict) -> Template | Redirect:
    rows = segments.rows_of(data)
    kind = "static" if data.get("kind") == "static" else "dynamic"
    rules, errors = await segments.validate_rules(rows, _tenant(request).currency) if kind == "dynamic" else ([], {})
    if not errors:
        saved, errors = await segments.save(segment_id, data.get("name", ""), kind, rules)
        if saved is not None:
            return redirect(request, f"/s/{_tenant(request).slug}/segments/{saved}")
    if segment_id is None:
        return render(request, "segments/new.html", await _editor(request, None, data, rows, errors), status_code=422)
    segment = await segments.get(segment_id)
    return render(request, "segments/show.html", await _show(request, segment, rows, errors), status_code=422)
