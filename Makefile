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
# A served app refuses the development secret key (it signs the links in messages):
# the commands below use the one kept in instance/secret_key, made once, unless
# OPEN311_SECRET_KEY is set already.
SECRET_KEY_FILE := instance/secret_key
WITH_KEY = OPEN311_SECRET_KEY="$${OPEN311_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}"

.PHONY: run test setup spatialite demo-db lint typecheck check clean \
	translations-extract translations-update translations-compile vendor screenshots

# Each worker's metrics go to files in this directory, and /metrics adds them up
# (emptied when gunicorn starts). The gunicorn configuration module brings the
# logger that redacts keys, tokens and signed links, and the metrics' hooks.
run: export PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/instance/prometheus
run: setup demo-db
	@echo "The resident site on http://$(HOST):$(PORT)/ and Open311 on http://$(HOST):$(PORT)/open311/discovery.json"
	$(WITH_KEY) $(VENV)/bin/gunicorn --config deploy/gunicorn.conf.py \
	  --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'wsgi:app'

# The suite also runs nginx in front of gunicorn, and the site in Chromium: both are
# installed here when missing, as SpatiaLite is.
test: setup
	@bash .ci/ensure-nginx
	@bash .ci/ensure-chromium
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
# and the expected times to resolve learned from them; then the partners' sandbox.
demo-db: $(SECRET_KEY_FILE)
	$(WITH_KEY) $(VENV)/bin/flask open311 init-db
	$(WITH_KEY) $(VENV)/bin/flask open311 load-catalog
	$(WITH_KEY) $(VENV)/bin/flask open311 load-articles
	$(WITH_KEY) $(VENV)/bin/flask open311 load-chicago-areas
	$(WITH_KEY) $(VENV)/bin/flask open311 load-demo --move-to-now
	$(WITH_KEY) $(VENV)/bin/flask open311 tag-areas
	$(WITH_KEY) $(VENV)/bin/flask open311 learn-estimates
	$(WITH_KEY) $(VENV)/bin/flask open311 init-sandbox

# 32 random bytes, readable by this user only (umask), never committed (.gitignore: instance/).
$(SECRET_KEY_FILE):
	@mkdir -p $(@D)
	@(umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))' > $@.tmp)
	@mv $@.tmp $@
	@echo "made $@: the key that signs links in messages (keep it; never commit it)"

# The tests and benchmarks are code we keep too: linted and formatted like the package.
LINTED := open311 tests bench tools deploy wsgi.py
lint: setup
	$(VENV)/bin/ruff check $(LINTED) && $(VENV)/bin/ruff format --check $(LINTED)

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck test

# The secret key stays: links already sent keep working.
# The site's languages (Flask-Babel). The compiled .mo files are committed beside the .po
# files, so that an install from the repository (pip, the editable venv, a wheel) speaks
# Spanish without a build step; tests/web/test_i18n.py fails when a .mo is stale.
BABEL := $(VENV)/bin/pybabel
translations-extract: setup
	$(BABEL) extract -F babel.cfg -k _ -k ngettext:1,2 --no-location --sort-output \
	  --project open311 -o open311/translations/messages.pot .
translations-update: translations-extract
	$(BABEL) update -i open311/translations/messages.pot -d open311/translations --no-fuzzy-matching
translations-compile: setup
	$(BABEL) compile -d open311/translations --statistics

# USWDS and Leaflet from npm at their pinned versions into open311/static/vendor/.
vendor:
	$(PY) tools/vendor.py

# Phone and desktop screenshots of every page of the resident site and the console
# into docs/screenshots/.
screenshots: setup
	OPEN311_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser/test_screenshots.py tests/browser/test_console_screenshots.py -q

clean:
	rm -rf $(VENV)
	find instance -mindepth 1 -maxdepth 1 ! -name secret_key -exec rm -rf {} + 2>/dev/null || true
