# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9

.PHONY: run test lint fmt bench browsers clean

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/uv sync --frozen --active --inexact --quiet
	@touch $@

## make run: install, migrate, load demo data, collect static files, then serve
## web (gunicorn) + worker + beat + partner simulators, restarted if they die.
## DEBUG stays off: an error shows the platform's own page, never a traceback.
## Local mode: a generated key in var/ and plain HTTP on 127.0.0.1 (docs/decisions/0006).
run: $(VENV)/.synced
	export DEBUG=0 DEPLOYMENT=$${DEPLOYMENT:-local}; \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py demo_data && \
	$(PY) manage.py collectstatic --noinput --verbosity 0 && \
	exec $(PY) manage.py run_platform

## make test: install and run the whole test suite
test: $(VENV)/.synced browsers
	DEBUG=$${DEBUG:-1} $(PY) -m pytest $(PYTEST_ARGS)

## make browsers: Debian's headless Chromium for the browser tests (Playwright drives it; no download)
browsers:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(VENV)/bin/mypy .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

fmt: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var

## make bench: every benchmark in bench/ on the local PostgreSQL (and Redis where needed);
## wrk (Debian's package) is the HTTP load generator
bench: $(VENV)/.synced
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@for module in $$(ls bench/*.py | xargs -n1 basename | sed 's/\.py$$//' | grep -v -e '^__init__$$' -e '^common$$'); do \
		echo "== bench.$$module"; DEBUG=1 $(PY) -m bench.$$module || exit 1; \
	done
