# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9

.PHONY: run test lint fmt bench browsers clean

## The local OpenID provider the sign-in tests run (npm's certified oidc-provider, from its lock file)
OIDC_NODE := tests/oidc/node_modules/.installed
$(OIDC_NODE): tests/oidc/package.json tests/oidc/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@npm ci --prefix tests/oidc --no-audit --no-fund --silent
	@touch $@

## axe-core, which the browser tests inject into each page to check its accessibility (from its lock file)
AXE_NODE := tests/browser/axe/node_modules/.installed
$(AXE_NODE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@npm ci --prefix tests/browser/axe --no-audit --no-fund --silent
	@touch $@

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/uv sync --frozen --active --inexact --quiet
	@touch $@

## make run: install, migrate, load demo data, collect static files, then serve
## web (gunicorn) + worker + beat + partner simulators + the audit log's sequencer
## and a witness of it, restarted if they die.
## DEBUG stays off: an error shows the platform's own page, never a traceback.
## Local mode: a generated key in var/ and plain HTTP on 127.0.0.1 (docs/decisions/0006).
## `make run OIDC_DEMO=1` also runs a local OpenID provider ("Log ind med Demo-IdP").
run: $(VENV)/.synced $(if $(OIDC_DEMO),$(OIDC_NODE))
	export DEBUG=0 DEPLOYMENT=$${DEPLOYMENT:-local}; \
	if [ -n "$(OIDC_DEMO)" ]; then export OIDC_DEMO_PROVIDER=1 OIDC_PROVIDERS=demo \
		OIDC_DEMO_ISSUER=http://127.0.0.1:8610 OIDC_DEMO_TITLE=Demo-IdP \
		OIDC_DEMO_CLIENT_ID=tvaerakut-demo OIDC_DEMO_CLIENT_SECRET=demo-only-client-secret \
		OIDC_DEMO_SCOPE="openid profile tvaerakut" OIDC_DEMO_ORGANISATIONS=900000100001; fi; \
	$(PY) manage.py run_platform --check-port && \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py demo_data && \
	$(PY) manage.py collectstatic --noinput --verbosity 0 && \
	exec $(PY) manage.py run_platform

## make test: install and run the whole test suite. With DATABASE_URL and
## DATABASE_OWNER_URL (as .ci/run sets them) the owner creates and migrates the
## test database and the tests run as the platform's role (docs/decisions/0008).
## Two processes (pytest-xdist; tests/parallel.py keeps what they share apart);
## PYTEST_PARALLEL= runs it in one.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
test: $(VENV)/.synced browsers $(OIDC_NODE) $(AXE_NODE)
	DEBUG=$${DEBUG:-1} $(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

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
