"""Hand-made CommerceML cases: every product and offer the files hold lands or is reported, with exact counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.services.imports import parse_commerceml

pytestmark = pytest.mark.unit

HEAD = '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.07">'


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body + "</КоммерческаяИнформация>", encoding="utf-8")
    return path


def _price(amount: str, type_id: str = "") -> str:
    kind = f"<ИдТипаЦены>{type_id}</ИдТипаЦены>" if type_id else ""
    return f"<Цена>{kind}<ЦенаЗаЕдиницу>{amount}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"


def test_a_product_used_five_times_is_reported_once_with_its_exact_count(tmp_path) -> None:
    goods = "".join("<Товар><Ид>p</Ид><Наименование>Стол</Наименование></Товар>" for _ in range(5))
    path = _write(tmp_path, "import.xml", f"<Каталог><Товары>{goods}</Товары></Каталог>")
    assert len(etree.parse(str(path)).xpath("//*[local-name()='Товар']")) == 5
    result = parse_commerceml([path])
    assert [p.external_id for p in result.products] == ["p"]
    [issue] = result.errors
    assert issue.code == "duplicate_id" and "5" in issue.message and "twice" not in issue.message


def test_clashing_prices_of_one_type_and_a_missing_type_are_reported(tmp_path) -> None:
    types = (
        "<ТипыЦен><ТипЦены><Ид>r</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        "<ТипЦены><Ид>w</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>"
    )
    offers = (
        f"<Предложение><Ид>a</Ид><Наименование>A</Наименование><Цены>{_price('10', 'r')}{_price('12', 'r')}"
        f"{_price('8', 'w')}</Цены></Предложение>"
        f"<Предложение><Ид>b</Ид><Наименование>B</Наименование><Цены>{_price('7', 'w')}</Цены></Предложение>"
    )
    catalog = _write(
        tmp_path,
        "import.xml",
        "<Каталог><Товары><Товар><Ид>a</Ид><Наименование>A</Наименование>"
        "</Товар><Товар><Ид>b</Ид><Наименование>B</Наименование></Товар></Товары></Каталог>",
    )
    path = _write(
        tmp_path, "offers.xml", f"<ПакетПредложений>{types}<Предложения>{offers}</Предложения></ПакетПредложений>"
    )
    result = parse_commerceml([catalog, path])
    prices = {o.external_id: o.price_minor for o in result.offers}
    assert prices == {"a": 1000, "b": None}  # b is kept, as price on request, not dropped
    codes = {i.code: i for i in result.warnings}
    assert set(codes) == {"price_clash", "missing_price"}
    assert "2" in codes["price_clash"].message and "10" in codes["price_clash"].message
