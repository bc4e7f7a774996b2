# Two commands on a fresh machine with Python 3.11 and make:  make run  |  make test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast lint format messages chromium axe-core screenshots wrk bench soak lighthouse lighthouse-seo backup restore clean help

help:
	@echo "make run          set up and serve the site at http://$(HOST):$(PORT) (SQLite)"
	@echo "make test         the whole test suite, browser tests included"
	@echo "make test-fast    the tests not marked slow (no servers, browsers, long fuzzing): < 2 min"
	@echo "make lint         ruff lint + format check, migrations in sync"
	@echo "make messages     collect the marked strings into locale/es/ and compile them (needs gettext)"
	@echo "make screenshots  regenerate docs/screenshots/*.png"
	@echo "make bench        load-test gunicorn with wrk (BENCH_ARGS=\"--help\" for the knobs)"
	@echo "make soak         60 s of mixed reads and writes at 32 connections, then recounts (SOAK_ARGS)"
	@echo "make lighthouse   Lighthouse mobile scores of every main page -> docs/lighthouse.md (LIGHTHOUSE_ARGS)"
	@echo "make lighthouse-seo  Lighthouse SEO of home and All In, English and Spanish -> docs/seo.md"
	@echo "make backup       database + media to BACKUP (default backups/stepup-<UTC time>.tar.gz)"
	@echo "make restore      BACKUP=file.tar.gz into a migrated database (RESTORE_ARGS=--replace)"

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
# and the catalog loader only add what is missing. Beside it, the worker that sends the
# queued mail (printed on this terminal by the console backend); it stops with the server.
# The worker does not reload on code changes: stop and start `make run` after editing a task.
run: $(VENV)/.deps-run
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_catalog
	DEBUG=1 $(BIN)/python manage.py load_sample_content
	DEBUG=1 $(BIN)/python manage.py generateimages films:title:poster_large -v0
	DEBUG=1 $(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
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

# axe-core for the franchise page's accessibility test (tests/test_charts_browser.py): it
# comes with Lighthouse's pinned packages (tools/lighthouse/package-lock.json). Installed
# when npm is there; otherwise that test skips loudly (and fails under CI=true).
AXE := tools/lighthouse/node_modules/axe-core/axe.min.js
axe-core:
	@if [ ! -f $(AXE) ]; then \
	  if command -v npm >/dev/null; then \
	    npm ci --prefix tools/lighthouse --no-audit --no-fund --ignore-scripts; \
	  else \
	    echo "!!! npm is missing: the axe-core check of the franchise page will skip."; \
	  fi; \
	fi

test: $(VENV)/.deps-test chromium axe-core
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The loop to run while working: everything but the tests marked slow (those that start
# servers, processes or a browser, and the longest property and fuzz runs). `make test`
# and CI still run them all.
test-fast: $(VENV)/.deps-test
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.deps-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.deps-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The translations: every marked string into locale/<language>/LC_MESSAGES/django.po, then
# compiled to the .mo files that are committed (a clone without gettext uses them as they are).
# Needs GNU gettext (Debian: apt-get install gettext). Translate the new entries in the .po,
# then run it again; tests/test_translations.py fails on anything untranslated or stale.
TRANSLATED_LANGUAGES := es
MESSAGES_IGNORE := -i .venv -i bench -i tools -i tests -i staticfiles -i node_modules
messages: $(VENV)/.deps-run
	DEBUG=1 $(BIN)/python manage.py makemessages $(addprefix -l ,$(TRANSLATED_LANGUAGES)) --no-obsolete $(MESSAGES_IGNORE)
	DEBUG=1 $(BIN)/python manage.py compilemessages $(addprefix -l ,$(TRANSLATED_LANGUAGES)) $(MESSAGES_IGNORE)

screenshots: $(VENV)/.deps-test chromium
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_catalog
	DEBUG=1 $(BIN)/python manage.py load_sample_content
	DEBUG=1 $(BIN)/python -m tools.screenshots docs/screenshots

# Debian's wrk for bench and soak: installed when missing and we are root.
wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's wrk for the benchmark..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "!!! wrk is missing and cannot be installed (not root): apt-get install wrk"; exit 1; \
	  fi; \
	fi

# Load test of the production set-up (gunicorn, DEBUG off) with wrk: DATABASE_URL and
# REDIS_URL when set, else bench.sqlite3.
bench: $(VENV)/.deps-test wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

# The same set-up under one 60 s run of mixed reads and writes at 32 connections; then every
# stored count is checked against a recount and what the run posted is taken away.
soak: $(VENV)/.deps-test wrk
	$(BIN)/python -m bench --soak $(SOAK_ARGS)

# Lighthouse (pinned in tools/lighthouse/package-lock.json, installed there by npm ci) on
# Debian's Chromium, against the production set-up on a throwaway SQLite database: the mobile
# performance score of every main page, 3 runs each, into docs/lighthouse.md.
LIGHTHOUSE := tools/lighthouse/node_modules/lighthouse/cli/index.js
$(LIGHTHOUSE): tools/lighthouse/package-lock.json
	npm ci --prefix tools/lighthouse --no-audit --no-fund --ignore-scripts
	touch $@

lighthouse: $(VENV)/.deps-test chromium $(LIGHTHOUSE)
	$(BIN)/python -m tools.lighthouse $(LIGHTHOUSE_ARGS)

lighthouse-seo: $(VENV)/.deps-test chromium $(LIGHTHOUSE)
	$(BIN)/python -m tools.lighthouse_seo

# Every row and every uploaded file, in one .tar.gz (core/backup.py). BACKUP may name
# the file; by default backups/stepup-<UTC time>.tar.gz. DATABASE_URL and MEDIA_ROOT as set.
backup: $(VENV)/.deps-run
	$(BIN)/python manage.py backup $(if $(BACKUP),"$(BACKUP)")

# Migrates, then restores BACKUP; refuses a database that already holds data unless
# RESTORE_ARGS=--replace.
restore: $(VENV)/.deps-run
	@if [ -z "$(BACKUP)" ]; then \
	  echo "!!! make restore needs the backup to restore: make restore BACKUP=backups/stepup-....tar.gz"; exit 1; \
	fi
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py restore "$(BACKUP)" $(RESTORE_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
