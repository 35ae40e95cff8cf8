# pledgepack: every target sets up what it needs, so each is one command on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# DuckDB 1.4 in a venv of its own: the tests open the built .duckdb file with it,
# because many analysts still run DuckDB 1.x.
COMPAT := .venv-duckdb14
CONTENT := content
OUT := dist

.PHONY: help setup build test bench validate clean

help: ## List the targets
	@grep -E '^[a-z][a-z.-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/pledgepack: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(COMPAT)/bin/python:
	$(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/pip install --quiet --disable-pip-version-check duckdb==1.4.4

setup: $(BIN)/pledgepack ## Create .venv and install pledgepack with its pinned dependencies

$(OUT)/datapackage.json: $(BIN)/pledgepack datapackage.json $(shell find $(CONTENT) src -type f 2>/dev/null)
	$(BIN)/pledgepack build --content $(CONTENT) --out $(OUT)

build: $(OUT)/datapackage.json ## Set up and build dist/ from content/

validate: $(OUT)/datapackage.json ## Validate dist/ (frictionless, DuckDB, hashes)
	$(BIN)/pledgepack validate $(OUT)

test: $(BIN)/pledgepack $(COMPAT)/bin/python ## Set up and run the tests
	PLEDGEPACK_DUCKDB14_PYTHON=$(CURDIR)/$(COMPAT)/bin/python $(BIN)/python -m pytest

bench: $(BIN)/pledgepack ## Time the build (100k statements), the history walk and lint (needs ../shared/bench)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_lint.py

clean: ## Remove dist/ and the virtual environments
	rm -rf $(OUT) $(VENV) $(COMPAT) .pytest_cache
