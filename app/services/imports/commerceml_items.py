"""CommerceML elements into records: Группа, Свойство, ТипЦены, Товар and Предложение readers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from app.services.imports.records import Category, Param, Product
from app.services.imports.values import (
    ValueProblem,
    clean_line,
    clean_text,
    normalize_currency,
    parse_bool,
    parse_quantity,
)
from app.services.imports.xmlsafe import child, children, local, text

# A price type is "retail" in 1C configurations under these names (ru, uk, en).
_RETAIL = re.compile(r"розн|роздр|retail", re.IGNORECASE)


@dataclass(slots=True)
class Property:
    name: str
    is_dictionary: bool
    values: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PriceType:
    external_id: str
    name: str
    currency: str | None


@dataclass(slots=True)
class RawPrice:
    amount: str
    currency: str | None
    type_id: str | None


def read_group(elem: etree._Element) -> Category | None:
    external_id, name = text(elem, "Ид"), clean_line(text(elem, "Наименование"))
    if not external_id or not name:
        return None
    container = elem.getparent()
    owner = container.getparent() if container is not None else None
    parent = text(owner, "Ид") if owner is not None and local(owner) == "Группа" else None
    return Category(external_id, name, parent, line=elem.sourceline)


def read_property(elem: etree._Element) -> tuple[str, Property] | None:
    external_id, name = text(elem, "Ид"), clean_line(text(elem, "Наименование"))
    if not external_id or not name:
        return None
    values: dict[str, str] = {}
    variants = child(elem, "ВариантыЗначений")
    for entry in children(variants, "Справочник") if variants is not None else []:
        value_id, value = text(entry, "ИдЗначения"), text(entry, "Значение")
        if value_id and value:
            values[value_id] = value
    kind = (text(elem, "ТипЗначений") or "").lower()
    return external_id, Property(name, kind == "справочник" or bool(values), values)


def read_price_type(elem: etree._Element) -> PriceType | None:
    external_id, name = text(elem, "Ид"), clean_line(text(elem, "Наименование"))
    if not external_id:
        return None
    return PriceType(external_id, name or external_id, normalize_currency(text(elem, "Валюта")))


def choose_price_type(types: list[PriceType]) -> tuple[PriceType, bool]:
    """The retail price type if one is named so, else the first; the flag says whether it was retail."""
    for price_type in types:
        if _RETAIL.search(price_type.name):
            return price_type, True
    return types[0], False


def read_product(elem: etree._Element, properties: dict[str, Property]) -> Product | None:
    """A Товар, or None when it has no Ид or no Наименование (the caller reports which)."""
    external_id, name = text(elem, "Ид"), clean_line(text(elem, "Наименование"))
    if not external_id or not name:
        return None
    groups = child(elem, "Группы")
    category_ids = [i for i in (text(node) for node in children(groups, "Ид")) if i] if groups is not None else []
    maker = child(elem, "Изготовитель")
    deleted = (elem.get("Статус") or "").lower() == "удален" or parse_bool(text(elem, "ПометкаУдаления")) is True
    return Product(
        external_id,
        name,
        description=clean_text(text(elem, "Описание")),
        vendor=clean_line(text(maker, "Наименование")) if maker is not None else None,
        vendor_code=clean_line(text(elem, "Артикул")),
        barcodes=[code for code in (clean_line(text(node)) for node in children(elem, "Штрихкод")) if code],
        category_external_id=category_ids[0] if category_ids else None,
        category_external_ids=category_ids,
        pictures=[path for path in (text(node) for node in children(elem, "Картинка")) if path],
        params=property_params(elem, properties) + characteristics(elem),
        # Old-style exports list each characteristic as its own Товар "product#variant".
        group_key=external_id.split("#", 1)[0] if "#" in external_id else None,
        deleted=deleted,
        line=elem.sourceline,
    )


def property_params(elem: etree._Element, properties: dict[str, Property]) -> list[Param]:
    params: list[Param] = []
    block = child(elem, "ЗначенияСвойств")
    for entry in children(block, "ЗначенияСвойства") if block is not None else []:
        prop = properties.get(text(entry, "Ид") or "")
        if prop is None:
            continue  # no name to show it under; the classifier was not part of this package
        for node in children(entry, "Значение"):
            value = text(node)
            if value and prop.is_dictionary:
                value = prop.values.get(value)
            if value:
                params.append(Param(prop.name, value))
    return params


def characteristics(elem: etree._Element) -> list[Param]:
    block = child(elem, "ХарактеристикиТовара")
    params = []
    for entry in children(block, "ХарактеристикаТовара") if block is not None else []:
        name, value = clean_line(text(entry, "Наименование")), clean_line(text(entry, "Значение"))
        if name and value:
            params.append(Param(name, value))
    return params


def offer_prices(elem: etree._Element) -> list[RawPrice]:
    block = child(elem, "Цены")
    prices = []
    for node in children(block, "Цена") if block is not None else []:
        amount = text(node, "ЦенаЗаЕдиницу")
        if amount is not None:
            prices.append(RawPrice(amount, text(node, "Валюта"), text(node, "ИдТипаЦены")))
    return prices


def offer_stock(elem: etree._Element) -> int | None:
    """Количество (2.04–2.08), per-warehouse Склад attributes (UT 11) or Остатки (2.09+ rests files)."""
    quantity = text(elem, "Количество")
    if quantity is not None:
        return _quantity(quantity)
    amounts = [node.get("КоличествоНаСкладе") for node in children(elem, "Склад")]
    rests = child(elem, "Остатки")
    for rest in children(rests, "Остаток") if rests is not None else []:
        stores = children(rest, "Склад")
        amounts.extend(text(store, "Количество") for store in stores)
        if not stores:
            amounts.append(text(rest, "Количество"))
    counted = [value for value in (_quantity(amount) for amount in amounts if amount) if value is not None]
    return sum(counted) if counted else None


def _quantity(raw: str) -> int | None:
    try:
        return parse_quantity(raw)
    except ValueProblem:
        return None
