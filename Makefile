# Kehu CRM — what a newcomer types.  `make run` and `make test` work on a fresh clone
# with only Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CRM    := $(VENV)/bin/crm
PORT   ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
CHROMIUM ?= /usr/bin/chromium
# pytest-xdist workers: one per core by default (TEST_WORKERS=0 runs in one process)
TEST_WORKERS ?= auto

.PHONY: run test test-sqlite test-postgres test-fast e2e lint fuzz install install-test chromium \
        messages demo bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, migrate the SQLite database, load demo data the first time, serve with a worker
##      (DEBUG off; `DEBUG=true make run` shows Django's debug pages, for developers)
run: install
	$(CRM) migrate --noinput
	$(CRM) seed_demo --if-empty
	$(CRM) serve --port $(PORT)

## chromium: Debian's Chromium for the browser tests (installed when missing and we are root)
chromium:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped (and fail when CI=true)"; \
	else echo "chromium not found at $(CHROMIUM): browser tests will be skipped, and fail when CI=true (install Debian's 'chromium')"; fi

## test: the whole suite; in CI (CI=true) once on SQLite and once on PostgreSQL
test: install-test chromium lint
	$(MAKE) --no-print-directory test-sqlite
	@if [ "$$CI" = "true" ] || [ -n "$$TEST_POSTGRES" ]; then $(MAKE) --no-print-directory test-postgres; fi
	$(MAKE) --no-print-directory fuzz

test-sqlite: install-test
	DATABASE_URL= $(PY) -m pytest -q -n $(TEST_WORKERS)

test-postgres: install-test
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -q -n $(TEST_WORKERS)

## test-fast: the suite without browser tests
test-fast: install-test
	DATABASE_URL= $(PY) -m pytest -q -m "not e2e"

e2e: install-test chromium
	$(PY) -m pytest -q -m e2e

## fuzz: Schemathesis against the running app (port FUZZ_PORT, default 8106) as an administrator and a rep
fuzz: install-test
	$(PY) fuzz/run.py

lint: install-test
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

## messages: refresh the zh-Hans and en catalogues and compile them
messages: install
	cd crm && $(abspath $(PY)) ../manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore "*/tests/*"
	cd crm && $(abspath $(PY)) ../manage.py compilemessages

demo: install
	$(CRM) migrate --noinput
	$(CRM) seed_demo

## bench: the foundation benchmark (see docs/benchmarks.md); BENCH_CUSTOMERS overrides the size
bench: install-test
	$(PY) bench/customers_bench.py

clean:
	rm -rf $(VENV) var
