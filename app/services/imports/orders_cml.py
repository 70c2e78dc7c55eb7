"""Orders from CommerceML (``КоммерческаяИнформация/Документ``, schema 2.03 to 2.10, UTF-8 or cp1251).

1C and Bitrix write one ``Документ`` per order: ``Номер``, ``Дата``/``Время``, ``Валюта``, ``Сумма``, the buyer
in ``Контрагенты/Контрагент`` (contacts in ``Контакты`` or, from 2.08, ``КонтактнаяИнформация``), lines in
``Товары/Товар``, the delivery as a line with ``Ид`` ORDER_DELIVERY, and flags in ``ЗначенияРеквизитов``.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from app.i18n import gettext as _
from app.services.imports.orders_model import (
    LineRecord,
    OrderRecord,
    OrdersFile,
    RowProblem,
    check,
    moment,
    money,
    quantity,
)
from app.services.imports.orders_status import group_of
from app.services.imports.values import normalize_currency
from app.services.imports.xmlsafe import child, children, local, text

_PARSER = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
_TRUE = ("true", "да", "1", "yes")


def _requisites(doc: etree._Element) -> dict[str, str]:
    block = child(doc, "ЗначенияРеквизитов")
    pairs = children(block, "ЗначениеРеквизита") if block is not None else []
    return {(text(p, "Наименование") or "").lower(): text(p, "Значение") or "" for p in pairs}


def _contacts(party: etree._Element | None) -> tuple[str, str, str]:
    """Name, phone and e-mail of the buyer."""
    if party is None:
        return "", "", ""
    name = text(party, "ПолноеНаименование") or text(party, "Наименование") or ""
    phone = email = ""
    for holder in ("Контакты", "КонтактнаяИнформация"):
        block = child(party, holder)
        for item in list(block) if block is not None else []:
            kind, value = (text(item, "Тип") or "").lower(), text(item, "Значение") or ""
            if ("почт" in kind or "mail" in kind) and not email:
                email = value
            elif "телефон" in kind and not phone:
                phone = value
    return name, phone, email


def _document(doc: etree._Element, zone: str, currency: str, contact: Callable) -> OrderRecord:
    number = text(doc, "Номер") or text(doc, "Ид") or ""
    cur = normalize_currency(text(doc, "Валюта")) or currency
    flags = _requisites(doc)
    parties = child(doc, "Контрагенты")
    party = child(parties, "Контрагент") if parties is not None else None
    name, raw_phone, raw_email = _contacts(party)
    phone, email = contact(raw_phone, raw_email)
    address = (
        text(child(party, "Адрес"), "Представление") if party is not None and child(party, "Адрес") is not None else ""
    )
    order = OrderRecord(
        line=doc.sourceline or 0,
        number=number[:40],
        placed_at=moment(f"{text(doc, 'Дата') or ''} {text(doc, 'Время') or '00:00:00'}", zone),
        currency=cur,
        customer_name=name[:200],
        phone=phone,
        email=email,
        total_minor=money(text(doc, "Сумма"), cur) if text(doc, "Сумма") else None,
        delivery_address=(address or "")[:1000],
        delivery_method=(flags.get("метод доставки") or flags.get("способ доставки") or "")[:64],
        comment=(text(doc, "Комментарий") or "")[:5000],
    )
    order.paid = flags.get("заказ оплачен", "").lower() in _TRUE
    if flags.get("отменен", "").lower() in _TRUE:
        order.group = "cancel"
    elif flags.get("финальный статус", "").lower() in _TRUE:
        order.group = "complete"
    elif flags.get("статус заказа"):
        order.group = group_of(flags["статус заказа"])
    goods = child(doc, "Товары")
    for item in children(goods, "Товар") if goods is not None else []:
        price = money(text(item, "ЦенаЗаЕдиницу"), cur)
        count = quantity(text(item, "Количество"))
        if text(item, "Ид") == "ORDER_DELIVERY":
            order.delivery_minor += price * count
            continue
        order.lines.append(
            LineRecord(
                name=(text(item, "Наименование") or "—")[:500],
                sku=text(item, "Артикул"),
                price_minor=price,
                quantity=count,
            )
        )
    for discount in children(child(doc, "Скидки"), "Скидка") if child(doc, "Скидки") is not None else []:
        order.discount_minor += money(text(discount, "Сумма"), cur)
    return order


def parse_commerceml(data: bytes, *, zone: str, currency: str, country: str, contact: Callable) -> OrdersFile:
    result = OrdersFile("commerceml")
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER))
    except etree.XMLSyntaxError as exc:
        result.issues.append((exc.lineno or 0, _("The file is not well-formed XML: %(detail)s", detail=exc.msg)))
        return result
    docs = [d for d in root.iter("{*}Документ", "Документ") if local(d.getparent()) == local(root)]
    if not docs:
        result.issues.append((1, _("The file holds no orders (no Документ element).")))
    for doc in docs:
        if child(doc, "Товары") is None and text(doc, "Сумма") is None:
            # 1C answers the site with documents that only carry a new status of an order, no goods.
            number = text(doc, "Номер") or "—"
            message = _(
                "The document %(number)s holds no goods (a status update), so it is not an order.", number=number
            )
            result.warnings.append((doc.sourceline or 0, message))
            continue
        try:
            order = _document(doc, zone, currency, contact)
            check(order)
            result.orders.append(order)
        except RowProblem as exc:
            result.issues.append((doc.sourceline or 0, str(exc)))
    return result
