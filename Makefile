# The README's two commands: `make run` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 4
export SPATIALITE_LIBRARY_PATH ?= mod_spatialite
export FLASK_APP := open311

.PHONY: run test setup spatialite demo-db lint typecheck check clean

# Each worker's metrics go to files in this directory, and /metrics adds them up
# (emptied when gunicorn starts). The gunicorn configuration module brings the
# logger that redacts keys, tokens and signed links, and the metrics' hooks.
run: export PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/instance/prometheus
run: setup demo-db
	@echo "Open311 on http://$(HOST):$(PORT)/open311/discovery.json"
	$(VENV)/bin/gunicorn --config python:open311.observability.gunicorn_hooks \
	  --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'wsgi:app'

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: spatialite $(VENV)/.installed

# SpatiaLite is a system library: install Debian's package when we can, else say how.
spatialite:
	@bash .ci/ensure-spatialite

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "open311 needs Python 3.11 or newer (found: $(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m open311.doctor
	touch $@

# The embedded database with the Chicago catalogue and real Chicago requests,
# and the expected times to resolve learned from them.
demo-db:
	$(VENV)/bin/flask open311 init-db
	$(VENV)/bin/flask open311 load-catalog
	$(VENV)/bin/flask open311 load-articles
	$(VENV)/bin/flask open311 load-chicago-areas
	$(VENV)/bin/flask open311 load-demo
	$(VENV)/bin/flask open311 tag-areas
	$(VENV)/bin/flask open311 learn-estimates

lint: setup
	$(VENV)/bin/ruff check open311 && $(VENV)/bin/ruff format --check open311

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) instance
