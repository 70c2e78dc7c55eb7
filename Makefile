# AutoOffice — two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

BABEL_KEYWORDS := -k _ -k _l -k gettext -k ngettext:1,2 -k lazy_gettext -k N_
POT := /tmp/autooffice-messages.pot

.PHONY: run test bench lint setup assets catalogs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) assets

assets: $(STAMP)
	$(BIN)/python -m app.web.assets

run: setup
	$(BIN)/autooffice dev

test: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check app tests bench
	$(BIN)/lint-imports

# Re-extract message ids and merge them into the ru/en/uk catalogs (then translate what is new).
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) -o $(POT) --no-location --omit-header --sort-output \
		--ignore-dirs '.* tests bench migrations' .
	for l in ru en uk; do $(BIN)/pybabel update -i $(POT) -d app/i18n/locale -l $$l --no-wrap \
		--no-fuzzy-matching --ignore-obsolete; done
	rm -f $(POT)

clean:
	rm -rf $(VENV) app/static/vendor
