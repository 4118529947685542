# Two commands: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint test-core test-postgres setup venv browser bench clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

setup: venv
	$(BIN)/flask --app wsgi mpp setup

run: setup
	@$(BIN)/python -m app.banner
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Chromium (Debian's) for the browser tests; espeak-ng for a smoother board voice (without it
# the board joins the word clips shipped in boards/clips/); gammu and gammu-smsd for the
# hall's SMS modem (tests use Gammu's dummy phone driver).
browser:
	@(command -v chromium && command -v gammu-smsd-inject) >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng poppler-utils gammu gammu-smsd)

test: venv browser lint test-core test-postgres

# The house rules: ruff (ruff.toml) and the layers of docs/architecture.md (.importlinter).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

test-core:
	$(BIN)/python -m pytest -q -m "not postgres"

# PostgreSQL + Redis lane: runs when both are reachable on 127.0.0.1.
test-postgres:
	@if $(BIN)/python -m tests.services_up; then \
		$(BIN)/python -m pytest -q -m postgres; \
	else echo "PostgreSQL/Redis not reachable on 127.0.0.1: postgres lane skipped"; fi

bench: venv
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/ticket_floor.py
	$(BIN)/python bench/boards.py
	$(BIN)/python bench/central.py
	$(BIN)/python bench/printing.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/sync_backlog.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) .pytest_cache
