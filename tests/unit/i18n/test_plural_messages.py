"""A stored plural message keeps its count and renders the right one of three forms for each viewer."""

from __future__ import annotations

import pickle

import pytest

from app.i18n import use_locale
from app.i18n.messages import as_data, ngettext, render

pytestmark = pytest.mark.unit

MSGID = "Offer id %(id)s is used %(num)s time; only the first offer is kept."
PLURAL = "Offer id %(id)s is used %(num)s times; only the first offer is kept."


@pytest.mark.parametrize(
    ("locale", "num", "word"),
    [
        ("en", 1, "1 time;"),
        ("en", 8, "8 times"),
        ("ru", 3, "3 раза"),
        ("ru", 8, "8 раз;"),
        ("uk", 2, "2 рази"),
        ("uk", 8, "8 разів"),
    ],
)
def test_plural_message_written_in_english_renders_in_the_viewers_form(locale, num, word) -> None:
    with use_locale("en"):
        message = ngettext(MSGID, PLURAL, num, id="A1")
    data = as_data(message)
    assert data["plural"] == PLURAL and data["params"] == {"num": num, "id": "A1"}
    assert word in render(data, locale=locale)
    assert pickle.loads(pickle.dumps(message)).plural == PLURAL  # survives the parser process
