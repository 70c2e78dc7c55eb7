"""Messages as data: a sentence kept as its id and parameters is read in whoever's language renders it;
what cannot be rendered falls back to the text stored beside it, never to an error."""

from __future__ import annotations

import json
import pickle

import pytest

from app.i18n import messages, use_locale
from app.services import changes
from app.services.imports.records import ImportFileError

pytestmark = pytest.mark.unit

NO_PRICE = {"ru": "У предложения A2 нет цены.", "uk": "Пропозиція A2 не має ціни.", "en": "Offer A2 has no price."}


def test_a_message_is_text_in_the_writers_language_and_data_for_every_reader() -> None:
    with use_locale("ru"):
        written = messages.gettext("Offer %(id)s has no price.", id="A2")
    assert written == NO_PRICE["ru"] and isinstance(written, str)
    data = json.loads(json.dumps(messages.as_data(written)))  # through a JSONB column
    for locale, text in NO_PRICE.items():
        assert messages.render(data, "stored", locale=locale) == text
    with use_locale("uk"):
        assert messages.render(data) == NO_PRICE["uk"]  # the reader's locale by default


def test_a_message_survives_the_trip_to_the_parser_process() -> None:
    with use_locale("uk"):
        written = messages.gettext("Offer %(id)s has no price.", id="A2")
    copy = pickle.loads(pickle.dumps(written))
    assert copy == written and copy.msgid == "Offer %(id)s has no price." and copy.params == {"id": "A2"}


def test_old_rows_and_broken_data_show_the_stored_text() -> None:
    assert messages.render({}, "Старый текст") == "Старый текст"
    assert messages.render(None, "Старый текст") == "Старый текст"
    assert messages.render({"id": "Offer %(id)s has no price.", "params": {"other": 1}}, "kept") == "kept"
    assert messages.render({"id": 5}, "kept") == "kept"
    assert messages.as_data("plain text") == {}


def test_a_file_error_keeps_its_reason_file_and_line_as_data() -> None:
    with use_locale("en"):
        error = ImportFileError("empty", messages.gettext("The file is empty."), line=7, source="feed.xml")
        data = json.loads(json.dumps(messages.as_data(error.describe())))
    assert str(error) == "feed.xml: The file is empty. (line 7)"
    assert messages.render(data, locale="ru") == "feed.xml: Файл пуст. (строка 7)"
    assert messages.render(data, locale="uk").endswith("(рядок 7)")


def test_a_store_name_per_language_and_a_list_of_outcomes() -> None:
    with use_locale("ru"):
        status = messages.Localized({"ru": "Комплектуется", "en": "Being packed", "uk": "Комплектується"})
        moved = messages.gettext("Status changed to %(status)s.", status=status)
        tagged = messages.gettext("Tag “%(tag)s” added.", tag="vip")
    assert moved == "Статус изменён на Комплектуется."
    data = json.loads(json.dumps(messages.as_data([moved, tagged, "raw"])))
    assert messages.render(data, locale="en") == "Status changed to Being packed.; Tag “vip” added.; raw"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", ["Да", "Нет", "—", "a, b и c", "Русский: Заказ; English: Order"]),
        ("uk", ["Так", "Ні", "—", "a, b і c", "Русский: Заказ; English: Order"]),
        ("en", ["Yes", "No", "—", "a, b, and c", "Русский: Заказ; English: Order"]),
    ],
)
def test_values_read_as_words_not_as_python(locale: str, expected: list[str]) -> None:
    look = changes.Lookups()
    with use_locale(locale):
        values = [True, False, None, ["a", "b", "c"], {"ru": "Заказ", "en": "Order"}]
        assert [changes.format_value("x", value, look) for value in values] == expected
        assert changes.field_label("some_new_field") == "Some new field"
        assert changes.format_value("phone", "+79123456789", look) == "+7 912 345-67-89"
        assert changes.format_value("when", "2026-03-08", look) not in ("2026-03-08", "")
