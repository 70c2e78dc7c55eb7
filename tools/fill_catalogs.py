"""Fill the ru/en/uk catalogs from JSON files of translations, and list what is still missing.

Usage: python tools/fill_catalogs.py [translations.json ...]

Each JSON file maps an English message id to {"ru": ..., "uk": ...}; a plural entry gives a list of
three forms per language (one, few, many). English entries get the id itself. Run after
``make catalogs`` has merged the new ids into the .po files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "app" / "i18n" / "locale"


def fill(locale: str, table: dict[str, dict]) -> list[str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        plural = not isinstance(message.id, str)
        if locale == "en":
            value = list(message.id) if plural else message.id
        elif key in table and locale in table[key]:
            value = table[key][locale]
        else:
            value = None
        if value is not None:
            if plural:
                forms = [value] * 3 if isinstance(value, str) else list(value)
                message.string = tuple(forms[: catalog.num_plurals] + [forms[-1]] * (catalog.num_plurals - len(forms)))
            else:
                message.string = value if isinstance(value, str) else value[0]
            message.flags.discard("fuzzy")
        done = message.string if isinstance(message.string, str) else all(message.string)
        if not done:
            missing.append(key)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, sort_output=True, ignore_obsolete=True)
    return missing


def main(paths: list[str]) -> int:
    table: dict[str, dict] = {}
    for p in paths:
        table.update(json.loads(Path(p).read_text(encoding="utf-8")))
    status = 0
    for locale in ("ru", "en", "uk"):
        missing = fill(locale, table)
        for key in missing:
            print(f"{locale}: missing {key!r}")
        status = status or bool(missing)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
