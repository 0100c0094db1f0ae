# The two commands: `make run` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# What the test suite runs against: the real PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bsg_campaigns
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_SERVICES := REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) DEBUG=false
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) $(TEST_SERVICES)
# Then the newcomer's path (tests marked `sqlite`) on the embedded SQLite `make run` uses; the
# test database is a file beside this one (tests/conftest.py), removed when the run ends.
SQLITE_TEST_DATABASE_URL ?= sqlite:///$(CURDIR)/var/newcomer.sqlite3
# The suite spends half its time waiting (live servers, workers, the sandbox's pace, the soak's
# own processes), so more pytest-xdist workers than cores pay (tests/conftest.py gives each its
# own database and Redis database): on one quiet 2-core machine and commit, two took 15 m 43 s
# in all and three 14 m 25 s; on another (session 24, AMD), three 12 m 24 s and four 10 m 35 s
# and 10 m 15 s (the PostgreSQL part 722 s against 611 and 592 s). TEST_WORKERS=0 runs it in
# one process.
TEST_WORKERS ?= 4

.PHONY: run test lint bench soak clean vendor-static

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

# Debian's Chromium for the browser tests; Playwright cannot download browsers here.
/usr/bin/chromium:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null

# GNU gettext: `manage.py makemessages` and `compilemessages` (locale/) and the test that the
# Ukrainian catalogue is complete.
/usr/bin/msgfmt:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq gettext >/dev/null

run: $(VENV)/.run-installed
	$(PY) scripts/run.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

test: $(VENV)/.test-installed /usr/bin/chromium /usr/bin/msgfmt lint
	$(TEST_ENV) $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist load
	mkdir -p var
	DATABASE_URL=$(SQLITE_TEST_DATABASE_URL) $(TEST_SERVICES) $(VENV)/bin/pytest -m sqlite

# Every bench/*.py benchmark at full size (bench/run.py finds them; results go to BENCHMARKS.md).
# `make bench BENCH_ARGS="--only sandbox_load"` runs one. `make bench BENCH_SCALE=10m` runs
# issue 16's ten-million set instead: contact pages, send plan, engine submit and the dispatch
# by a two-process worker at 10,000,000 contacts, with their query plans, once each (an hour or
# more; bench/run.py's SCALED). `make test` runs none of this, only tiny sizes (tests/bench/).
BENCH_ARGS ?=
BENCH_SCALE ?=
bench: $(VENV)/.test-installed
	$(TEST_ENV) $(PY) bench/run.py $(if $(BENCH_SCALE),--scale $(BENCH_SCALE)) $(BENCH_ARGS)

# First the client alone against a sandbox injecting every fault (CLIENT_SOAK_MINUTES), then
# the whole system (sandbox server with faults, private Redis, worker, beat, a database of its
# own) for SOAK_MINUTES minutes with worker and Redis restarts. SOAK_ARGS go to the system soak.
SOAK_MINUTES ?= 30
CLIENT_SOAK_MINUTES ?= 2
SOAK_ARGS ?=
soak: $(VENV)/.test-installed
	$(TEST_ENV) $(PY) bench/soak.py --minutes $(CLIENT_SOAK_MINUTES)
	$(TEST_ENV) $(PY) bench/soak_system.py --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

# Pico CSS, the toolkit under static/css/app.css, is committed in static/vendor/pico/ (minified,
# with its licence) so that nothing loads from the internet at run time and `make run` needs no
# Node. To move to another version: change the one package.json pins, `make vendor-static`,
# look at the pages (tests/browser/test_look_browser.py) and commit static/vendor/.
PICO := node_modules/@picocss/pico
vendor-static:
	npm install --no-audit --no-fund --ignore-scripts
	mkdir -p static/vendor/pico
	cp $(PICO)/css/pico.min.css $(PICO)/LICENSE.md static/vendor/pico/

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3 node_modules
