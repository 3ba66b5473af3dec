# Two commands for a newcomer: `make run` and `make test`. Both build their own virtualenv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Test processes (pytest-xdist): one per core; each has its own database.
JOBS   ?= auto

.PHONY: run test test-postgres e2e lint setup clean

## make setup: the virtualenv, plus the Debian packages PDFs and their tests need (fonts,
## poppler-utils, zbar-tools); without root or sudo it prints the apt-get command instead
setup: $(VENV)/.installed
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## make run: migrate the SQLite database, sync content/, load demo data, serve on :5000
run: setup
	$(BIN)/lms db upgrade
	$(BIN)/lms content sync
	$(BIN)/lms demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl+C stops)"
	LMS_BASE_URL=$${LMS_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/lms run --host $(HOST) --port $(PORT)

## make test: the whole suite on SQLite in parallel, then the browser tests (one server, one
## browser: they share the demo, so they run in one process)
test: setup
	$(BIN)/pytest -n $(JOBS) -m "not e2e"
	$(BIN)/pytest -m e2e

## make test-postgres: the same suite (without the browser) on PostgreSQL
test-postgres: setup
	LMS_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(JOBS) -m "not e2e"

## make e2e: only the browser tests (Playwright driving Debian's Chromium)
e2e: setup
	$(BIN)/pytest -m e2e

lint: setup
	$(BIN)/ruff check lms tests migrations
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) instance .pytest_cache test-results
