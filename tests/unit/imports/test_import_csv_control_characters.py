"""A NUL or another control character in a CSV cell is reported on its row; the other rows still import."""

from __future__ import annotations

import io

import pytest

from app.i18n import use_locale
from app.services.customers._import import parse as parse_customers
from app.services.imports import parse_csv

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("poison", ["\x00", "\x1b[2J", "\x07"])
def test_a_control_character_in_a_catalog_cell_is_a_row_issue(poison: str) -> None:
    text = f"sku,name,price\nA-1,Чайник,100\nB-2,Круж{poison}ка,200\nC-3,Ложка,300\n"
    with use_locale("uk"):
        result = parse_csv(io.BytesIO(text.encode("utf-8")))  # type: ignore[arg-type]
    assert sorted(o.external_id for o in result.offers) == ["A-1", "C-3"]
    [issue] = [i for i in result.issues if i.code == "control_characters"]
    assert issue.line == 3 and issue.severity == "error"
    assert "керівні символи" in issue.message


def test_a_nul_in_a_customer_cell_is_reported_with_its_line() -> None:
    data = "name,phone\nОля,+7 912 777-00-01\nНи\x00кто,+7 912 777-00-02\n".encode()
    with use_locale("ru"):
        rows, result = parse_customers(data, "RU")
    assert [row["line"] for row in rows] == [2]
    assert result.errors == [(3, "Уберите из текста управляющие символы (например, NUL).")]
