# The two commands of the README's quick start:
#   make site   sets up a virtual environment and builds the catalogue into site/
#   make test   sets up what the tests need and runs all of them
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site test check

site: $(VENV)/.installed
	$(BIN)/python build.py

check: $(VENV)/.installed
	$(BIN)/python build.py check

test: $(VENV)/.installed-test /usr/bin/chromium
	$(BIN)/deno test --quiet --config edge/deno.json --allow-env --allow-read edge/tests
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
