"""Catalogs are complete: every message id in the code has a non-fuzzy translation in ru, en and uk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app import i18n

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
OPTIONS = {"app/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_ids() -> set[str]:
    ids: set[str] = set()
    messages = extract_from_dir(
        str(ROOT),
        METHODS,
        options_map=OPTIONS,
        keywords=KEYWORDS,
        directory_filter=lambda d: Path(d).name not in {".venv", "tests", "bench"},
    )
    for _filename, _lineno, message, _comments, _context in messages:
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(locale: str):
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def code_ids() -> set[str]:
    ids = extracted_ids()
    assert len(ids) > 50  # extraction itself works (templates included)
    return ids


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_has_a_translation_that_is_not_fuzzy(locale: str, code_ids: set[str]) -> None:
    cat = catalog(locale)
    present = {m.id if isinstance(m.id, str) else m.id[0]: m for m in cat if m.id}
    missing = sorted(code_ids - set(present))
    assert not missing, f"{locale}: untranslated ids {missing[:10]}"
    fuzzy = sorted(k for k, m in present.items() if m.fuzzy)
    assert not fuzzy, f"{locale}: fuzzy entries {fuzzy[:10]}"
    empty = sorted(k for k, m in present.items() if not (m.string if isinstance(m.string, str) else all(m.string)))
    assert not empty, f"{locale}: empty translations {empty[:10]}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_translations_keep_their_placeholders(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        targets = [message.string] if isinstance(message.string, str) else list(message.string)
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) <= set(PLACEHOLDER.findall(source)) | {"num"}, message.id


@pytest.mark.parametrize("locale", ["ru", "uk"])
def test_slavic_catalogs_have_three_plural_forms(locale: str) -> None:
    cat = catalog(locale)
    assert cat.num_plurals == 3
    plurals = [m for m in cat if m.id and not isinstance(m.id, str)]
    assert plurals
    for message in plurals:
        assert len(message.string) == 3 and all(message.string), message.id


def test_plural_forms_follow_the_number() -> None:
    forms = {}
    for n in (1, 2, 5, 21, 22, 25, 11):
        with i18n.use_locale("ru"):
            forms[n] = i18n.ngettext("%(num)s product", "%(num)s products", n)
    assert forms[1] == forms[21].replace("21", "1")
    assert forms[2].replace("2", "") == forms[22].replace("22", "")
    assert forms[5].replace("5", "") == forms[11].replace("11", "") == forms[25].replace("25", "")
    assert len({re.sub(r"\d", "", forms[n]) for n in (1, 2, 5)}) == 3
