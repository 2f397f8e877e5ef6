# The two commands of the README's quick start:
#   make site   sets up a virtual environment and builds the catalogue into site/
#   make test   sets up what the tests need and runs all of them
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site test check lint postgresql

site: $(VENV)/.installed
	$(BIN)/python build.py

check: $(VENV)/.installed
	$(BIN)/python build.py check

# Static checks of the Python build: types (mypy --strict) and lint (ruff).
lint: $(VENV)/.installed-test
	$(BIN)/mypy
	$(BIN)/ruff check codepages tests bench build.py

test: lint $(VENV)/.installed-test /usr/bin/chromium postgresql dev/oidc/node_modules/.installed
	@$(MAKE) --no-print-directory $(VENV)/.installed-preview
	$(BIN)/deno lint --config edge/deno.json edge bench/edge_bench.ts
	$(BIN)/deno fmt --check --config edge/deno.json edge bench/edge_bench.ts
	$(BIN)/python dev/localdb.py run -- $(BIN)/deno test --quiet --config edge/deno.json --allow-env --allow-read --allow-net=127.0.0.1 edge/tests
	$(BIN)/python -m pytest

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot be used).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Accounts (edge/README.md): the tests and the preview run a private PostgreSQL server
# (Debian's postgresql; dev/localdb.py) and the local OpenID Connect provider (dev/oidc,
# the oidc-provider npm package, versions pinned by its package-lock.json).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

/usr/bin/node:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm

dev/oidc/node_modules/.installed: dev/oidc/package.json dev/oidc/package-lock.json /usr/bin/node
	cd dev/oidc && npm ci --no-audit --no-fund --silent
	touch $@

# The local preview after `make site` alone: Deno and watchfiles (dev/requirements-preview.txt),
# the local OpenID Connect provider (npm ci in dev/oidc) and, when it can be installed,
# PostgreSQL (without it the preview serves guests only and says so).
.PHONY: serve
serve: $(VENV)/.installed-preview dev/oidc/node_modules/.installed
	-@$(MAKE) --no-print-directory postgresql
	$(BIN)/python build.py serve $(SERVE_ARGS)

$(VENV)/.installed-preview: $(VENV)/.installed dev/requirements-preview.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r dev/requirements-preview.txt
	touch $@
