# 数海 Shuhai — the whole set-up on a fresh machine is `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= .shuhai
PERSONS  ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: demo serve demo-reset test bench lint format install install-test chromium java clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make demo: generate the demo city, load it and serve the portal on http://$(HOST):$(PORT);
## run again, it serves the demo already there (what users did in the portal stays)
demo: install
	SHUHAI_HOME=$(HOME_DIR) $(BIN)/shuhai demo --persons $(PERSONS) --keep
	SHUHAI_HOME=$(HOME_DIR) $(BIN)/shuhai serve --host $(HOST) --port $(PORT)

## make serve: serve the portal on what $(HOME_DIR) holds
serve: install
	SHUHAI_HOME=$(HOME_DIR) $(BIN)/shuhai serve --host $(HOST) --port $(PORT)

## make demo-reset: throw the demo home away and start over
demo-reset: install
	rm -rf $(HOME_DIR)
	$(MAKE) demo

## Debian's Chromium for the browser tests (Playwright's own download does not work here)
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

## Java for Spark (the lake read by Spark, shuhai.lake.spark)
java:
	@if ! command -v java >/dev/null; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; \
	fi

## make test: install what the tests need and run them
test: install-test chromium java
	$(BIN)/python -m pytest -q

## make bench: the figures each issue names, side by side with the reference tools
bench: install-test chromium
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/entities.py --persons 1000000
	$(BIN)/python bench/security.py
	@command -v wrk >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/share.py --rows 10000000
	$(BIN)/pip install -q datasette  # the reference the portal is measured against
	$(BIN)/python bench/web.py
	$(BIN)/python bench/open.py

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(HOME_DIR) .pytest_cache bench/out
