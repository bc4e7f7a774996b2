# Two commands on a fresh machine with Python 3.11 and make:  make run  |  make test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint format chromium screenshots bench clean help

help:
	@echo "make run          set up and serve the site at http://$(HOST):$(PORT) (SQLite)"
	@echo "make test         the whole test suite, browser tests included"
	@echo "make lint         ruff lint + format check, migrations in sync"
	@echo "make screenshots  regenerate docs/screenshots/*.png"
	@echo "make bench        load-test gunicorn with wrk (BENCH_ARGS=\"--help\" for the knobs)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.deps-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.deps-test: requirements-test.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.deps-run

# Development server on the embedded SQLite database. Safe to run again: migrations
# and the catalog loader only add what is missing.
run: $(VENV)/.deps-run
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_catalog
	DEBUG=1 $(BIN)/python manage.py load_sample_content
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian's Chromium for the browser tests: installed when missing and we are root;
# otherwise those tests skip with a loud message (and fail under CI=true).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "!!! $(CHROMIUM) is missing and cannot be installed (not root): browser tests will skip."; \
	  fi; \
	fi

test: $(VENV)/.deps-test chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.deps-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

screenshots: $(VENV)/.deps-test chromium
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_catalog
	DEBUG=1 $(BIN)/python manage.py load_sample_content
	DEBUG=1 $(BIN)/python -m tools.screenshots docs/screenshots

# Load test of the production set-up (gunicorn, DEBUG off) with wrk: DATABASE_URL and
# REDIS_URL when set, else bench.sqlite3. Debian's wrk is installed when missing and we are root.
bench: $(VENV)/.deps-test
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's wrk for the benchmark..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "!!! wrk is missing and cannot be installed (not root): apt-get install wrk"; exit 1; \
	  fi; \
	fi
	$(BIN)/python -m tools.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
