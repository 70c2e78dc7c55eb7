"""Designing an order form in settings: fields, goods, delivery, thank-you text, who may embed it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import NotFound
from app.forms import _fields, rules
from app.i18n import LOCALES
from app.i18n import gettext as _
from app.services import audit
from app.services import origins as origins_of
from app.services.form_answers import CUSTOM_KEYS
from app.services.imports.values import ValueProblem, parse_money
from app.tables.catalog import Offer
from app.tables.forms import OrderForm
from app.tenancy.runtime import store_transaction

STANDARD_FIELDS = ("name", "phone", "email", "address", "comment")
CUSTOM_FIELDS = CUSTOM_KEYS
GOODS_MODES = ("all", "category", "fixed", "single")
MAX_DELIVERY = 4


@dataclass(frozen=True)
class FormSettings:
    titles: dict[str, str]
    fields: list[dict]
    goods_mode: str
    goods: list[int]
    max_quantity: int
    delivery: list[dict]
    thanks: dict[str, str]
    languages: list[str]
    allowed_origins: list[str]
    active: bool


async def list_forms() -> list[dict]:
    return await OrderForm.select().order_by(OrderForm.code).output(load_json=True)


async def get(code: str) -> dict:
    form = await OrderForm.select().where(OrderForm.code == code[:40]).output(load_json=True).first()
    if form is None:
        raise NotFound(_("This order form does not exist."))
    return form


def _checked(raw: Mapping[str, str], name: str) -> bool:
    return raw.get(name) in ("on", "true", "1")


def _origins(raw: Mapping[str, str], errors: dict[str, str]) -> list[str]:
    origins, problem = origins_of.parse_lines(raw.get("allowed_origins") or "")
    if problem:
        errors["allowed_origins"] = problem
    return origins


def _delivery(raw: Mapping[str, str], currency: str, errors: dict[str, str]) -> list[dict]:
    options = []
    for index in range(MAX_DELIVERY):
        names = {loc: (raw.get(f"delivery_{index}_name_{loc}") or "").strip()[:100] for loc in LOCALES}
        if not any(names.values()):
            continue
        price_text = (raw.get(f"delivery_{index}_price") or "0").strip() or "0"
        try:
            price = parse_money(price_text, currency)
        except ValueProblem:
            errors[f"delivery_{index}_price"] = _("Enter an amount like 1290 or 1290.50.")
            continue
        fallback = next(v for v in names.values() if v)
        options.append(
            {
                "code": f"d{index}",
                "name": {loc: v or fallback for loc, v in names.items()},
                "price_minor": price,
                "address": _checked(raw, f"delivery_{index}_address"),
            }
        )
    return options


async def validate(raw: Mapping[str, str], currency: str) -> tuple[FormSettings | None, dict[str, str]]:
    errors: dict[str, str] = {}
    titles = {loc: (raw.get(f"title_{loc}") or "").strip()[:200] for loc in LOCALES}
    if not any(titles.values()):
        errors["title_en"] = _("This field is required.")
    fields = [
        {
            "key": key,
            "enabled": _checked(raw, f"field_{key}") or key == "phone",
            "required": _checked(raw, f"required_{key}"),
        }
        for key in STANDARD_FIELDS
    ]
    fields += _custom_fields(raw)
    mode = _fields.choice(raw, "goods_mode", GOODS_MODES, errors, default="all")
    goods = await _goods(raw, mode, errors)
    try:
        max_quantity = rules.integer((raw.get("max_quantity") or "10"), low=1, high=999)
    except rules.Invalid:
        max_quantity = 0
        errors["max_quantity"] = _("Enter a whole number from 1 to 999.")
    languages = [loc for loc in LOCALES if _checked(raw, f"lang_{loc}")] or list(LOCALES)
    thanks = {loc: (raw.get(f"thanks_{loc}") or "").strip()[:1000] for loc in LOCALES}
    data = FormSettings(
        titles,
        fields,
        mode,
        goods,
        max_quantity,
        _delivery(raw, currency, errors),
        thanks,
        languages,
        _origins(raw, errors),
        _checked(raw, "active"),
    )
    return (None if errors else data), errors


def _custom_fields(raw: Mapping[str, str]) -> list[dict]:
    """Up to three extra questions, each with its label in the form's languages."""
    fields = []
    for key in CUSTOM_FIELDS:
        label = {loc: (raw.get(f"{key}_label_{loc}") or "").strip()[:100] for loc in LOCALES}
        if any(label.values()):
            fallback = next(v for v in label.values() if v)
            fields.append(
                {
                    "key": key,
                    "enabled": True,
                    "required": _checked(raw, f"required_{key}"),
                    "label": {loc: v or fallback for loc, v in label.items()},
                }
            )
    return fields


async def _goods(raw: Mapping[str, str], mode: str, errors: dict[str, str]) -> list[int]:
    if mode == "category":
        category_id = rules.record_id(raw.get("goods_category"))
        if category_id is None:
            errors["goods_category"] = _("Choose a category.")
            return []
        return [category_id]
    if mode in ("fixed", "single"):
        skus = [s.strip() for s in (raw.get("goods_skus") or "").replace(",", "\n").splitlines() if s.strip()][:200]
        rows = await Offer.select(Offer.id, Offer.sku).where(Offer.sku.is_in(skus or [""]))
        found = {row["sku"]: row["id"] for row in rows}
        missing = [s for s in skus if s not in found]
        if not skus or missing or (mode == "single" and len(skus) != 1):
            errors["goods_skus"] = _("List the SKUs of goods in your catalog (one for a single-product form).")
            return []
        return [found[s] for s in skus]
    return []


_AUDITED = ("titles", "fields", "goods_mode", "goods", "max_quantity", "delivery", "thanks", "languages")


async def update(code: str, data: FormSettings, *, actor_id: int | None = None, actor: str = "") -> dict:
    """Save a form's settings; the changed ones go to the audit log in the same transaction."""
    before = await get(code)
    titles = {loc: t for loc, t in data.titles.items() if t}
    after = {key: getattr(data, key) for key in _AUDITED} | {
        "titles": titles, "allowed_origins": data.allowed_origins, "active": data.active,
    }  # fmt: skip
    async with store_transaction():
        await audit.record_changes(
            "settings", f"form:{code}", "update", before, after, actor_id=actor_id, actor=actor,
            summary=_("Order form %(code)s", code=code),
        )  # fmt: skip
        await _save(code, data, titles)
    return await get(code)


async def _save(code: str, data: FormSettings, titles: dict[str, str]) -> None:
    await OrderForm.update(
        {
            OrderForm.title: titles.get("en") or next(iter(titles.values())),
            OrderForm.titles: titles,
            OrderForm.fields: data.fields,
            OrderForm.goods_mode: data.goods_mode,
            OrderForm.goods: data.goods,
            OrderForm.max_quantity: data.max_quantity,
            OrderForm.delivery: data.delivery,
            OrderForm.thanks: data.thanks,
            OrderForm.languages: data.languages,
            OrderForm.allowed_origins: data.allowed_origins,
            OrderForm.active: data.active,
            OrderForm.updated_at: datetime.now(UTC),
        }
    ).where(OrderForm.code == code)


async def skus_of(ids: list[int]) -> list[str]:
    rows = await Offer.select(Offer.sku).where(Offer.id.is_in(ids or [0]))
    return [row["sku"] for row in rows if row["sku"]]
