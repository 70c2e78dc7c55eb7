"""Staff customer screens: the base (search, filters, sort, pages), the card with its timeline, duplicates."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render
from app.errors import Conflict
from app.forms import rules
from app.i18n import gettext as _
from app.services import changes, customers, payments, rfm, segments

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
MAX_UPLOAD = 6 * 1024 * 1024


def _slug(request: Request[Any, Any, Any]) -> str:
    return request.scope["state"]["tenant"].slug


def _actor(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who is acting, for the audit log."""
    member = _member(request)
    return {"actor_id": member.identity_id, "actor": member.email}


def _member(request: Request[Any, Any, Any]) -> Any:
    return request.scope["state"]["member"]


class CustomerController(Controller):
    path = "/customers"
    include_in_schema = False

    @get("/", name="customers:list", opt={"permission": "customers.view"})
    async def list_customers(self, request: Request[Any, Any, Any]) -> Template:
        filters = customers.parse_filters(dict(request.query_params))
        segment_id = rules.record_id(filters.segment)
        segment = await segments.find(segment_id) if segment_id else None
        extra = await segments.where_of(segment) if segment else None
        page = await customers.list_page(
            filters,
            country=request.scope["state"]["tenant"].country,
            extra=extra,
            only_manager=request.scope["state"].get("orders_scope"),
        )
        context = {
            "page": page,
            "filters": filters,
            "segment": segment,
            "count_cap": customers.COUNT_CAP,
            "query": customers.filters_query,
            "rfm_labels": rfm.class_labels(),
            "rfm_classes": rfm.CLASSES,
            "sources": customers.sources(),
            "source_label": customers.source_label,
            "sorts": customers.sort_labels(),
        }
        return render(request, "customers/index.html", context, fragment="customers/_table.html")

    @get("/import", name="customers:import_form", opt={"permission": "customers.edit"})
    async def import_form(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "customers/import.html", {"result": None})

    @post("/import", name="customers:import", opt={"permission": "customers.edit"}, request_max_body_size=MAX_UPLOAD)
    async def import_customers(self, request: Request[Any, Any, Any], data: Multipart) -> Template:
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            result = customers.ImportResult(errors=[(0, _("Choose a CSV file."))])
        else:
            result = await customers.import_csv(
                await upload.read(),
                country=request.scope["state"]["tenant"].country,
                filename=upload.filename,
                actor_id=_member(request).identity_id,
            )
        status = 422 if result.errors else 200
        return render(request, "customers/import.html", {"result": result}, status_code=status)

    @get("/duplicates", name="customers:duplicates", opt={"permission": "customers.view"})
    async def list_duplicates(self, request: Request[Any, Any, Any]) -> Template:
        context = {
            "pairs": await customers.duplicates(only_manager=request.scope["state"].get("orders_scope")),
            "reasons": customers.reason_labels(),
            "error": None,
        }
        return render(request, "customers/duplicates.html", context)

    @post("/merge", name="customers:merge", opt={"permission": "customers.edit"})
    async def merge_customers(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        survivor, merged = rules.record_id(data.get("survivor")), rules.record_id(data.get("merged"))
        if survivor and merged:
            try:
                await customers.merge(survivor, merged, **_actor(request))
            except Conflict as exc:
                error = exc.message
            else:
                return redirect(request, f"/s/{_slug(request)}/customers/{survivor}")
        else:
            error = _("Choose two different customers.")
        context = {
            "pairs": await customers.duplicates(only_manager=request.scope["state"].get("orders_scope")),
            "reasons": customers.reason_labels(),
            "error": error,
        }
        return render(request, "customers/duplicates.html", context, status_code=422)

    @post("/merges/{merge_id:int}/undo", name="customers:undo_merge", opt={"permission": "customers.edit"})
    async def undo_merge(self, request: Request[Any, Any, Any], merge_id: FromPath[int]) -> Template | Redirect:
        try:
            restored = await customers.undo_merge(merge_id, **_actor(request))
        except Conflict as exc:
            survivor = await customers.merge_survivor(merge_id)
            return await _card(request, survivor, status_code=422, errors={"merge": exc.message})
        return redirect(request, f"/s/{_slug(request)}/customers/{restored}")

    @get("/{customer_id:int}", name="customers:show", opt={"permission": "customers.view"})
    async def show_customer(self, request: Request[Any, Any, Any], customer_id: FromPath[int]) -> Template:
        before = rules.record_id(request.query_params.get("before"))
        kind = request.query_params.get("kind", "")
        if before or kind:
            events = await customers.timeline(
                customer_id,
                before=before,
                kind=kind,
                only_manager=request.scope["state"].get("orders_scope"),
            )
            events = await changes.describe_timeline(events)
            context = {"customer": {"id": customer_id}, "events": events, "kind": kind, **_labels()}
            return render(request, "customers/_timeline.html", context)
        return await _card(request, customer_id)

    @post("/{customer_id:int}/contacts", name="customers:update", opt={"permission": "customers.edit"})
    async def update_contacts(
        self, request: Request[Any, Any, Any], customer_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        tenant = request.scope["state"]["tenant"]
        errors = await customers.update_contacts(
            customer_id, data, country=tenant.country, actor_id=_member(request).identity_id
        )
        if errors:
            values = {k: data.get(k, "")[:300] for k in ("name", "phone", "email", "city")}
            return await _card(request, customer_id, status_code=422, errors=errors, values=values)
        return redirect(request, f"/s/{tenant.slug}/customers/{customer_id}")

    @post("/{customer_id:int}/tags", name="customers:tags", opt={"permission": "customers.edit"})
    async def set_tags(self, request: Request[Any, Any, Any], customer_id: FromPath[int], data: Form) -> Redirect:
        actor_id = request.scope["state"]["member"].identity_id
        await customers.set_tags(customer_id, data.get("tags", "")[:2000], actor_id=actor_id)
        return redirect(request, f"/s/{_slug(request)}/customers/{customer_id}")

    @post("/{customer_id:int}/notes", name="customers:note", opt={"permission": "customers.edit"})
    async def add_note(
        self, request: Request[Any, Any, Any], customer_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        member = _member(request)
        errors = await customers.add_note(
            customer_id, data.get("note", ""), actor_id=member.identity_id, actor=member.email
        )
        if errors:
            return await _card(
                request, customer_id, status_code=422, errors=errors, values={"note": data.get("note", "")[:4000]}
            )
        return redirect(request, f"/s/{_slug(request)}/customers/{customer_id}")

    @post("/{customer_id:int}/tasks", name="customers:task", opt={"permission": "tasks.view"})
    async def add_task(
        self, request: Request[Any, Any, Any], customer_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        member = _member(request)
        errors = await customers.add_task(
            customer_id, data.get("task", ""), data.get("due", ""), actor_id=member.identity_id, actor=member.email
        )
        if errors:
            values = {"task": data.get("task", "")[:1000], "due": data.get("due", "")[:20]}
            return await _card(request, customer_id, status_code=422, errors=errors, values=values)
        return redirect(request, f"/s/{_slug(request)}/customers/{customer_id}")

    @post("/{customer_id:int}/lists", name="customers:add_to_list", opt={"permission": "customers.edit"})
    async def add_to_list(self, request: Request[Any, Any, Any], customer_id: FromPath[int], data: Form) -> Redirect:
        segment = rules.record_id(data.get("segment"))
        if segment:
            await segments.add_member(segment, customer_id)
        return redirect(request, f"/s/{_slug(request)}/customers/{customer_id}")

    @post(
        "/{customer_id:int}/lists/{segment_id:int}/remove",
        name="customers:remove_from_list",
        opt={"permission": "customers.edit"},
    )
    async def remove_from_list(
        self, request: Request[Any, Any, Any], customer_id: FromPath[int], segment_id: FromPath[int]
    ) -> Redirect:
        await segments.remove_member(segment_id, customer_id)
        return redirect(request, f"/s/{_slug(request)}/customers/{customer_id}")


def _labels() -> dict[str, Any]:
    return {"event_label": customers.event_label, "event_kinds": customers.EVENT_KINDS}


async def _card(
    request: Request[Any, Any, Any],
    customer_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    data = await customers.card(customer_id, only_manager=request.scope["state"].get("orders_scope"))
    person = data["customer"]
    contact = {
        "name": person["name"],
        "phone": customers.format_phone(person["phone"]),
        "email": person["email"] or "",
        "city": person["city"],
    }
    context = {
        **data,
        **_labels(),
        "events": await changes.describe_timeline(
            await customers.timeline(customer_id, only_manager=request.scope["state"].get("orders_scope"))
        ),
        "kind": "",
        "phone": customers.format_phone(person["phone"]),
        "rfm_label": rfm.class_label(person["rfm_class"]),
        "source_label": customers.source_label,
        "payment_labels": payments.status_labels(),
        "errors": errors or {},
        "values": contact | (values or {}),
    }
    return render(request, "customers/show.html", context, status_code=status_code)
