# The front door. `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum requirements/dev.txt | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: help setup run worker test test-fast e2e lint format bench migrations-check messages lock test-tools clean

help:
	@echo "make run               set up, load demo data, serve on http://$(HOST):$(PORT) with a job worker"
	@echo "make test              the whole test suite (SQLite; DATABASE_URL/REDIS_URL switch backends)"
	@echo "make lint              ruff check and format check"
	@echo "make bench             benchmarks under benchmarks/"
	@echo "make migrations-check  fail if models and migrations disagree"
	@echo "make messages          extract translatable text into the .po files (needs GNU gettext)"
	@echo "make lock              re-resolve requirements/*.txt from requirements/*.in"

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

.env:
	cp .env.example .env

setup: $(STAMP) .env
	@sh scripts/ensure-fonts.sh
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --noinput
	-$(BIN)/python manage.py prepare_certificate_font

run: setup
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the job worker)"
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py run_huey --quiet & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: setup
	$(BIN)/python manage.py run_huey

test-tools:
	@sh scripts/ensure-test-tools.sh

test: setup test-tools
	$(BIN)/python -m pytest

e2e: setup test-tools
	$(BIN)/python -m pytest tests/e2e

test-fast: setup
	$(BIN)/python -m pytest -m "not e2e"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(STAMP) .env
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: setup
	$(BIN)/python benchmarks/run.py

messages: $(STAMP)
	cd cpe && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --no-location --no-obsolete
	$(BIN)/python manage.py compile_translations

lock:
	$(PYTHON) -m venv /tmp/cpe-lock && /tmp/cpe-lock/bin/pip install --quiet uv
	cd requirements && /tmp/cpe-lock/bin/uv pip compile --python-version 3.11 --generate-hashes -q base.in -o base.txt
	cd requirements && /tmp/cpe-lock/bin/uv pip compile --python-version 3.11 --generate-hashes -q dev.in -o dev.txt

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
