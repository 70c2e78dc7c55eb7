"""Staff order screens: the list (search, status groups), the board by status group, the order card."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render, speak_order_language, wants_fragment
from app.controllers.hooks import keys_of
from app.errors import Conflict, ValidationFailed
from app.forms import _fields as fields
from app.forms import rules
from app.i18n import gettext as _
from app.i18n import minor_to_plain
from app.services import (
    balances,
    changes,
    customers,
    form_answers,
    notifications,
    orders,
    payments,
    staff,
    stores,
    tasks,
)
from app.services.imports.values import ValueProblem, parse_money
from app.services.mail import mail_settings_from_env


class OrderController(Controller):
    path = "/orders"
    include_in_schema = False

    @get("/", name="orders:list", opt={"permission": "orders.view"})
    async def list_orders(self, request: Request[Any, Any, Any]) -> Template:
        view = "board" if request.query_params.get("view") == "board" else "list"
        filters = orders.parse_filters(dict(request.query_params))
        context: dict[str, Any] = {
            "view": view,
            "groups": orders.GROUPS,
            "group_label": orders.group_label,
            "filters": filters,
        }
        if view == "board":
            context.update(await _board(request))
        else:
            context["page"] = await orders.list_page(filters, only_manager=_scope(request))
            context["questions"] = form_answers.choices(await form_answers.questions())
        context["manager_names"] = await staff.names()
        member = request.scope["state"]["member"]
        context["views"] = await orders.saved_views(member.identity_id)
        context["current_query"] = orders.filters_query(filters)
        context["view_errors"] = {}
        fragment = "orders/_table.html" if view == "list" else "orders/_board.html"
        return render(request, "orders/index.html", context, fragment=fragment)

    @post("/views", name="orders:save_view", opt={"permission": "orders.view"})
    async def save_view(self, request: Request[Any, Any, Any], data: Form) -> Redirect:
        member = request.scope["state"]["member"]
        query = {k: v for k, v in data.items() if k in ("q", "group")}
        await orders.save_view(member.identity_id, data.get("view_name", ""), query)
        return redirect(
            request,
            f"/s/{request.scope['state']['tenant'].slug}/orders/?{orders.filters_query(orders.parse_filters(query))}",
        )

    @post("/views/{view_id:int}/delete", name="orders:delete_view", opt={"permission": "orders.view"})
    async def delete_view(self, request: Request[Any, Any, Any], view_id: FromPath[int]) -> Redirect:
        await orders.delete_view(request.scope["state"]["member"].identity_id, view_id)
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/")

    @get("/new", name="orders:new", opt={"permission": "orders.create"})
    async def new_order(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "orders/new.html", {"values": {}, "errors": {}, "rows": range(orders.STAFF_LINES)})

    @post("/new", name="orders:create", opt={"permission": "orders.create"})
    async def create_order(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        tenant = request.scope["state"]["tenant"]
        draft, errors = await orders.validate_staff_order(
            data,
            country=tenant.country,
            currency=tenant.currency,
            locale=tenant.locale,  # the shopper's, not ours
        )
        if draft is None:
            context = {
                "values": {k: v[:500] for k, v in data.items()},
                "errors": errors,
                "rows": range(orders.STAFF_LINES),
            }
            return render(request, "orders/new.html", context, status_code=422)
        order, _created = await orders.place_order(draft, manager_id=_scope(request))  # a limited taker keeps it
        return redirect(request, f"/s/{tenant.slug}/orders/{order.id}")

    @get("/{order_id:int}/invoice", name="orders:invoice", opt={"permission": "orders.view"})
    async def show_invoice(self, request: Request[Any, Any, Any], order_id: FromPath[int]) -> Template:
        store = await stores.current_store()
        order = await orders.get(order_id, only_manager=_scope(request))
        speak_order_language(request, order["locale"])  # the invoice is for the shopper
        return render(request, "orders/invoice.html", {"order": order, "store": store})

    @get("/{order_id:int}", name="orders:show", opt={"permission": "orders.view"})
    async def show_order(self, request: Request[Any, Any, Any], order_id: FromPath[int]) -> Template:
        return render(request, "orders/show.html", await _card(request, order_id), fragment="orders/_status.html")

    @post("/{order_id:int}/edit", name="orders:update", opt={"permission": "orders.edit"})
    async def update_order(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        return await _edit(request, order_id, data)

    @post("/{order_id:int}/refund", name="orders:refund", opt={"permission": "payments.refund"})
    async def refund_payment(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        """A refund in two steps: the amount is checked and shown for confirmation (with an optional reason),
        and only the confirmed form (``confirm=1``) asks the gateway."""
        order = await orders.get(order_id, only_manager=_scope(request))
        member = request.scope["state"]["member"]
        payment_id = data.get("payment", "")
        try:
            amount = parse_money(data.get("amount", ""), order["currency"])
            known = {str(p["id"]) for p in await payments.payments_of(order_id)}
            if payment_id not in known:
                raise ValidationFailed({"amount": _("This payment does not exist.")})
            if data.get("confirm") != "1":
                payment = await payments.check_refund(int(payment_id), amount)
                confirm = {"payment": payment, "amount_minor": amount, "amount": data.get("amount", "")[:20]}
                context = {**await _card(request, order_id), "refund_confirm": confirm}
                return render(request, "orders/show.html", context)
            await payments.refund(
                int(payment_id), amount, keys=keys_of(request), actor=member.email, actor_id=member.identity_id,
                reason=(data.get("reason") or "")[:2000],
            )  # fmt: skip
        except ValueProblem:
            errors = {"amount": _("Enter an amount like 1290 or 1290.50.")}
        except ValidationFailed as exc:
            errors = dict(exc.errors)
        else:
            return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")
        context = {**await _card(request, order_id), "refund_errors": errors}
        return render(request, "orders/show.html", context, status_code=422)

    @post("/{order_id:int}/payments/{payment_id:int}/received", name="orders:payment_received",
          opt={"permission": "orders.edit"})  # fmt: skip
    async def payment_received(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], payment_id: FromPath[int]
    ) -> Template | Redirect:
        """Staff confirm that the cash or the bank transfer of an offline payment arrived."""
        await orders.get(order_id, only_manager=_scope(request))  # 404 for another manager's order
        errors: dict[str, str] = {"amount": _("This payment does not exist.")}
        if payment_id in {p["id"] for p in await payments.payments_of(order_id)}:
            try:
                await payments.confirm_offline(payment_id, actor=request.scope["state"]["member"].email)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")
        context = {**await _card(request, order_id), "refund_errors": errors}
        return render(request, "orders/show.html", context, status_code=422)

    @post("/{order_id:int}/payment-link", name="orders:mail_payment_link", opt={"permission": "orders.view"})
    async def mail_payment_link(self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form) -> Template:
        """E-mail the shopper the order's payment link (the order's address unless staff type another)."""
        await orders.get(order_id, only_manager=_scope(request))  # 404 for another manager's order
        errors: dict[str, str] = {}
        recipient = fields.email(data, "link_email", errors)
        if not recipient and not errors:
            errors["link_email"] = _("Enter the e-mail address to send the link to.")
        sent = False
        if not errors:
            settings = request.app.state.settings
            member = request.scope["state"]["member"]
            sent = await notifications.payment_link(
                order_id, recipient, settings.public_url, mail_settings_from_env(),
                actor_id=member.identity_id, actor=member.email,
            )  # fmt: skip
            if not sent:
                errors["link_email"] = _("The e-mail could not be sent. Check the mail settings and try again.")
        context = {
            **await _card(request, order_id),
            "link_errors": errors,
            "link_email": (data.get("link_email") or "")[:254],
            "link_sent": _("The payment link was sent to %(email)s.", email=recipient) if sent else "",
        }
        return render(request, "orders/show.html", context, status_code=200 if sent else 422)

    @post("/{order_id:int}/manager", name="orders:assign", opt={"permission": "orders.assign"})
    async def assign_manager(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        await orders.get(order_id, only_manager=_scope(request))
        raw = (data.get("manager") or "").strip()
        try:
            manager_id = rules.record_id(raw)
            if raw and manager_id is None:
                raise ValidationFailed({"manager": _("Choose an active member of staff.")})
            actor_id = request.scope["state"]["member"].identity_id
            await staff.assign_order(order_id, manager_id, actor_id=actor_id)
        except ValidationFailed as exc:
            context = {**await _card(request, order_id), "assign_error": exc.errors.get("manager", exc.message)}
            return render(request, "orders/show.html", context, status_code=422)
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")

    @post("/{order_id:int}/status", name="orders:status", opt={"permission": "orders.edit"})
    async def change_status(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        member = request.scope["state"]["member"]
        await orders.get(order_id, only_manager=_scope(request))  # 404 for another manager's order
        try:
            await orders.change_status(
                order_id, data.get("status", ""), actor_id=member.identity_id, actor=member.email
            )
        except Conflict as exc:
            if data.get("from") == "board":
                return await _board_page(request, error=exc.message)
            context = {**await _card(request, order_id), "status_error": exc.message}
            return render(request, "orders/show.html", context, fragment="orders/_status.html", status_code=422)
        if data.get("from") == "board":
            return await _board_page(request)
        if wants_fragment(request):
            return render(
                request,
                "orders/show.html",
                await _card(request, order_id),
                fragment="orders/_status.html",
                toast=_("Status changed."),
            )
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")


async def _edit(request: Request[Any, Any, Any], order_id: int, data: dict[str, str]) -> Template | Redirect:
    tenant, member = request.scope["state"]["tenant"], request.scope["state"]["member"]
    order = await orders.get(order_id, only_manager=_scope(request))
    edit, errors = await orders.validate_edit(data, order, country=tenant.country)
    if edit is not None:
        try:
            await orders.update_order(order_id, edit, actor_id=member.identity_id, actor=member.email)
        except Conflict as exc:
            errors = {"lines": exc.message}
        else:
            return redirect(request, f"/s/{tenant.slug}/orders/{order_id}")
    values = {k: v[:500] for k, v in data.items()}
    context = {**await _card(request, order_id), "edit_errors": errors, "edit_values": values}
    return render(request, "orders/show.html", context, status_code=422)


def _scope(request: Request[Any, Any, Any]) -> int | None:
    """The member's own id when they may see only their own orders (set by the staff guard)."""
    return request.scope["state"].get("orders_scope")


def _targets(statuses: list[dict], code: str, allowed: list[str] | None) -> list[dict]:
    """Where an order in status ``code`` may move: the statuses it allows, or every other one."""
    return [s for s in statuses if s["code"] != code and (not allowed or s["code"] in allowed)]


async def _board(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The kanban by status group, and where each status may move to (the cards' "Move to" menus)."""
    statuses = await orders.statuses()
    moves = {
        s["code"]: _targets(statuses, s["code"], s.get("allowed"))
        for s in statuses
        if s["group"] not in orders.FINAL_GROUPS
    }
    return {
        "view": "board",
        "groups": orders.GROUPS,
        "group_label": orders.group_label,
        "board": await orders.board(only_manager=_scope(request)),
        "moves": moves,
        "board_error": None,
    }


async def _board_page(request: Request[Any, Any, Any], *, error: str | None = None) -> Template | Redirect:
    """After a move from the board: the board again (a toast on htmx), or back to it without JavaScript."""
    if error is None and not wants_fragment(request):
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/?view=board")
    context = {**await _board(request), "board_error": error}
    return render(
        request,
        "orders/index.html",
        context,
        fragment="orders/_board.html",
        status_code=422 if error else 200,
        toast=None if error else _("Status changed."),
    )


async def _card(request: Request[Any, Any, Any], order_id: int) -> dict[str, Any]:
    order = await orders.get(order_id, only_manager=_scope(request))
    statuses = await orders.statuses()
    by_code = {s["code"]: s for s in statuses}
    allowed = (by_code.get(order["status_code"]) or {}).get("allowed") or []
    return {
        "order": order,
        "history": await changes.describe_order(order),
        "source_label": customers.source_label,
        "status_by_code": by_code,
        "targets": _targets(statuses, order["status_code"], allowed),
        "manager_names": await staff.names(),
        "assignable": [m for m in await staff.members() if m.role in ("manager", "operator", "admin", "owner")],
        "assign_error": None,
        "statuses": statuses,
        "status_error": None,
        "payments": await payments.payments_of(order_id),
        "payment_labels": payments.status_labels(),
        "balance": await balances.of_order(order),
        "balance_labels": balances.state_labels(),
        "tasks": await tasks.for_order(order_id),
        "people": {m.identity_id: m for m in await staff.members(active_only=False)},
        "refund_errors": {},
        "refund_confirm": None,
        "link_errors": {},
        "link_email": order["email"] or "",
        "link_sent": "",
        "phone": customers.format_phone(order["phone"]),
        "answers": await form_answers.of_order(order),
        "edit_errors": {},
        "edit_values": {
            "customer_name": order["customer_name"],
            "phone": customers.format_phone(order["phone"]),
            "email": order["email"] or "",
            "delivery_address": order["delivery_address"],
            "comment": order["comment"],
            "discount": minor_to_plain(order["discount_minor"], order["currency"]),
            **{f"line_{line['id']}": str(line["quantity"]) for line in order["lines"]},
        },
    }
