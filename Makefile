# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

FRONTEND := src/ceasefire/web/static/vendor/.built

.PHONY: demo test lint typecheck services catalogs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The web front end: npm packages pinned by the lock file, copied into the Python package.
$(FRONTEND): frontend/package-lock.json frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

## Run the whole center on the embedded default and print where to look.
demo: $(STAMP) $(FRONTEND)
	$(BIN)/ceasefire demo

## Lint, type-check and run the test suite on SQLite and PostgreSQL.
test: $(STAMP) $(FRONTEND) services
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 --dist worksteal --cov --cov-report=

lint: $(STAMP)
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

## Start (and if need be install) the local services the tests use.
services:
	bash scripts/services.sh

## Extract messages and compile the translation catalogs.
LOCALES := src/ceasefire/locales
catalogs: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _ -k pgettext:1c,2 -k ngettext:1,2 \
	  --no-location --sort-output --project ceasefire -o $(LOCALES)/ceasefire.pot src/ceasefire
	for lang in ru tr az hy; do \
	  if [ -f $(LOCALES)/$$lang/LC_MESSAGES/ceasefire.po ]; then \
	    $(BIN)/pybabel --quiet update --no-fuzzy-matching -i $(LOCALES)/ceasefire.pot -d $(LOCALES) -D ceasefire -l $$lang; \
	  else \
	    $(BIN)/pybabel --quiet init -i $(LOCALES)/ceasefire.pot -d $(LOCALES) -D ceasefire -l $$lang; \
	  fi; \
	done
	$(BIN)/pybabel --quiet compile -d $(LOCALES) -D ceasefire

bench: $(STAMP)
	$(BIN)/ceasefire bench enrich

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
	rm -rf frontend/node_modules src/ceasefire/web/static/vendor
