"""Staff order screens: the list (search, status groups), the board by status group, the order card."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render
from app.controllers.hooks import keys_of
from app.errors import Conflict, ValidationFailed
from app.forms import _fields as fields
from app.i18n import gettext as _
from app.i18n import minor_to_plain
from app.services import customers, notifications, orders, payments, stores
from app.services.imports.values import ValueProblem, parse_money
from app.services.mail import mail_settings_from_env


class OrderController(Controller):
    path = "/orders"
    include_in_schema = False

    @get("/", name="orders:list")
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
            context["board"] = await orders.board()
        else:
            context["page"] = await orders.list_page(filters)
        member = request.scope["state"]["member"]
        context["views"] = await orders.saved_views(member.identity_id)
        context["current_query"] = orders.filters_query(filters)
        context["view_errors"] = {}
        return render(request, "orders/index.html", context, fragment="orders/_table.html" if view == "list" else None)

    @post("/views", name="orders:save_view")
    async def save_view(self, request: Request[Any, Any, Any], data: Form) -> Redirect:
        member = request.scope["state"]["member"]
        query = {k: v for k, v in data.items() if k in ("q", "group")}
        await orders.save_view(member.identity_id, data.get("view_name", ""), query)
        return redirect(
            request,
            f"/s/{request.scope['state']['tenant'].slug}/orders/?{orders.filters_query(orders.parse_filters(query))}",
        )

    @post("/views/{view_id:int}/delete", name="orders:delete_view")
    async def delete_view(self, request: Request[Any, Any, Any], view_id: FromPath[int]) -> Redirect:
        await orders.delete_view(request.scope["state"]["member"].identity_id, view_id)
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/")

    @get("/new", name="orders:new")
    async def new_order(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "orders/new.html", {"values": {}, "errors": {}, "rows": range(orders.STAFF_LINES)})

    @post("/new", name="orders:create")
    async def create_order(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        tenant = request.scope["state"]["tenant"]
        draft, errors = await orders.validate_staff_order(
            data, country=tenant.country, currency=tenant.currency, locale=request.scope["state"]["locale"]
        )
        if draft is None:
            context = {
                "values": {k: v[:500] for k, v in data.items()},
                "errors": errors,
                "rows": range(orders.STAFF_LINES),
            }
            return render(request, "orders/new.html", context, status_code=422)
        order, _created = await orders.create_order(draft)
        return redirect(request, f"/s/{tenant.slug}/orders/{order['id']}")

    @get("/{order_id:int}/invoice", name="orders:invoice")
    async def show_invoice(self, request: Request[Any, Any, Any], order_id: FromPath[int]) -> Template:
        store = await stores.current_store()
        return render(request, "orders/invoice.html", {"order": await orders.get(order_id), "store": store})

    @get("/{order_id:int}", name="orders:show")
    async def show_order(self, request: Request[Any, Any, Any], order_id: FromPath[int]) -> Template:
        return render(request, "orders/show.html", await _card(order_id), fragment="orders/_status.html")

    @post("/{order_id:int}/edit", name="orders:update")
    async def update_order(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        return await _edit(request, order_id, data)

    @post("/{order_id:int}/refund", name="orders:refund")
    async def refund_payment(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        order = await orders.get(order_id)
        payment_id = data.get("payment", "")
        errors: dict[str, str] = {}
        try:
            amount = parse_money(data.get("amount", ""), order["currency"])
        except ValueProblem:
            errors = {"amount": _("Enter an amount like 1290 or 1290.50.")}
        if (
            not errors
            and payment_id.isdigit()
            and int(payment_id) in {p["id"] for p in await payments.payments_of(order_id)}
        ):
            try:
                await payments.refund(
                    int(payment_id), amount, keys=keys_of(request), actor=request.scope["state"]["member"].email
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")
        elif not errors:
            errors = {"amount": _("This payment does not exist.")}
        context = {**await _card(order_id), "refund_errors": errors}
        return render(request, "orders/show.html", context, status_code=422)

    @post("/{order_id:int}/payments/{payment_id:int}/received", name="orders:payment_received")
    async def payment_received(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], payment_id: FromPath[int]
    ) -> Template | Redirect:
        """Staff confirm that the cash or the bank transfer of an offline payment arrived."""
        errors: dict[str, str] = {"amount": _("This payment does not exist.")}
        if payment_id in {p["id"] for p in await payments.payments_of(order_id)}:
            try:
                await payments.confirm_offline(payment_id, actor=request.scope["state"]["member"].email)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")
        context = {**await _card(order_id), "refund_errors": errors}
        return render(request, "orders/show.html", context, status_code=422)

    @post("/{order_id:int}/payment-link", name="orders:mail_payment_link")
    async def mail_payment_link(self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form) -> Template:
        """E-mail the shopper the order's payment link (the order's address unless staff type another)."""
        errors: dict[str, str] = {}
        recipient = fields.email(data, "link_email", errors)
        if not recipient and not errors:
            errors["link_email"] = _("Enter the e-mail address to send the link to.")
        sent = False
        if not errors:
            settings = request.app.state.settings
            sent = await notifications.payment_link(order_id, recipient, settings.public_url, mail_settings_from_env())
            if not sent:
                errors["link_email"] = _("The e-mail could not be sent. Check the mail settings and try again.")
        context = {
            **await _card(order_id),
            "link_errors": errors,
            "link_email": (data.get("link_email") or "")[:254],
            "link_sent": _("The payment link was sent to %(email)s.", email=recipient) if sent else "",
        }
        return render(request, "orders/show.html", context, status_code=200 if sent else 422)

    @post("/{order_id:int}/status", name="orders:status")
    async def change_status(
        self, request: Request[Any, Any, Any], order_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        member = request.scope["state"]["member"]
        try:
            await orders.change_status(
                order_id, data.get("status", ""), actor_id=member.identity_id, actor=member.email
            )
        except Conflict as exc:
            context = {**await _card(order_id), "status_error": exc.message}
            return render(request, "orders/show.html", context, fragment="orders/_status.html", status_code=422)
        if request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
            return render(
                request,
                "orders/show.html",
                await _card(order_id),
                fragment="orders/_status.html",
                toast=_("Status changed."),
            )
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/orders/{order_id}")


async def _edit(request: Request[Any, Any, Any], order_id: int, data: dict[str, str]) -> Template | Redirect:
    tenant, member = request.scope["state"]["tenant"], request.scope["state"]["member"]
    order = await orders.get(order_id)
    edit, errors = await orders.validate_edit(data, order, country=tenant.country)
    if edit is not None:
        try:
            await orders.update_order(order_id, edit, actor_id=member.identity_id, actor=member.email)
        except Conflict as exc:
            errors = {"lines": exc.message}
        else:
            return redirect(request, f"/s/{tenant.slug}/orders/{order_id}")
    context = {**await _card(order_id), "edit_errors": errors, "edit_values": {k: v[:500] for k, v in data.items()}}
    return render(request, "orders/show.html", context, status_code=422)


async def _card(order_id: int) -> dict[str, Any]:
    order = await orders.get(order_id)
    return {
        "order": order,
        "statuses": await orders.statuses(),
        "status_error": None,
        "payments": await payments.payments_of(order_id),
        "payment_labels": payments.status_labels(),
        "refund_errors": {},
        "link_errors": {},
        "link_email": order["email"] or "",
        "link_sent": "",
        "phone": customers.format_phone(order["phone"]),
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
