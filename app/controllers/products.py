"""The catalog: offers with search, filters, sort and pagination; the product card with price and stock edits."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from app.controllers._htmx import Form, render
from app.i18n import gettext as _
from app.i18n import minor_to_plain
from app.services import products, receipts


class ProductController(Controller):
    path = "/products"
    include_in_schema = False

    @get("/", name="products:list", opt={"permission": "products.view"})
    async def list_products(self, request: Request[Any, Any, Any]) -> Template:
        filters = products.parse_filters(dict(request.query_params))
        page = await products.list_page(filters)
        context = {"page": page, "categories": await products.categories(), "sorts": products.SORTS}
        return render(request, "products/index.html", context, fragment="products/_table.html")

    @get("/{offer_id:int}", name="products:show", opt={"permission": "products.view"})
    async def show_product(self, request: Request[Any, Any, Any], offer_id: FromPath[int]) -> Template:
        card = await products.show(offer_id)
        return render(
            request,
            "products/show.html",
            {**card, **receipts.choices(), "values": _values(card), "errors": {}},
            fragment="products/_edit_form.html",
        )

    @post("/{offer_id:int}", name="products:update", opt={"permission": "products.edit"})
    async def update_product(self, request: Request[Any, Any, Any], offer_id: FromPath[int], data: Form) -> Template:
        card = await products.show(offer_id)
        edit, errors = products.validate_edit(data, card["offer"]["currency"])
        if edit is None:
            values = {k: v[:50] for k, v in data.items()}
            return render(
                request,
                "products/show.html",
                {**card, **receipts.choices(), "values": values, "errors": errors},
                fragment="products/_edit_form.html",
                status_code=422,
            )
        card = await products.update_offer(offer_id, edit)
        return render(
            request,
            "products/show.html",
            {**card, **receipts.choices(), "values": _values(card), "errors": {}, "saved": True},
            fragment="products/_edit_form.html",
            toast=_("Saved."),
        )


def _values(card: dict) -> dict[str, str]:
    offer, product = card["offer"], card["product"]

    def amount(minor: int | None) -> str:
        return "" if minor is None else minor_to_plain(minor, offer["currency"])

    return {
        "price": amount(offer["price_minor"]),
        "old_price": amount(offer["old_price_minor"]),
        "stock": "" if offer["stock"] is None else str(offer["stock"]),
        "available": "on" if offer["available"] else "",
        "vat_code": product["vat_code"] or "",
        "measure": product["measure"],
        "payment_subject": product["payment_subject"],
        "payment_mode": product["payment_mode"],
    }
