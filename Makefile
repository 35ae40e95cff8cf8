# pledgepack: every target sets up what it needs, so each is one command on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# DuckDB 1.4 in a venv of its own: the tests open the built .duckdb file with it,
# because many analysts still run DuckDB 1.x.
COMPAT := .venv-duckdb14
# cffconvert pins an old jsonschema that frictionless cannot use, so it gets a venv of its
# own; the tests read CITATION.cff with it, and its BibTeX with pybtex, as reference managers
# would.
CFF := .venv-cffconvert
CONTENT := content
OUT := dist

# make release VERSION=1.2.0 [PREVIOUS=v1.1.0] [BASE_URL=https://.../ [FLAT=1]] [SITE_URL=...] [REPOSITORY_URL=...]
# (CONTENT, OUT, SITE and SITE_ZIP say where it reads and writes; a test points them elsewhere)
VERSION ?=
PREVIOUS ?=
BASE_URL ?=
FLAT ?=
SITE := site
SITE_ZIP = pledges-site-$(VERSION).zip
SITE_URL ?=
REPOSITORY_URL ?=

.PHONY: help setup build test fuzz bench validate release clean

help: ## List the targets
	@grep -E '^[a-z][a-z.-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/pledgepack: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# httpfs from PyPI, so that the remote views are tested over HTTP without DuckDB's
# extension server.
$(COMPAT)/bin/python: Makefile
	test -x $@ || $(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/pip install --quiet --disable-pip-version-check duckdb==1.4.4 \
		duckdb-ext-httpfs==1.4.4.20260205
	touch $@

$(CFF)/bin/cffconvert: Makefile
	test -x $@ || $(PYTHON) -m venv $(CFF)
	$(CFF)/bin/pip install --quiet --disable-pip-version-check cffconvert==2.0.0 pybtex==0.26.1
	touch $@

setup: $(BIN)/pledgepack ## Create .venv and install pledgepack with its pinned dependencies

$(OUT)/datapackage.json: $(BIN)/pledgepack datapackage.json $(shell find $(CONTENT) src -type f 2>/dev/null)
	$(BIN)/pledgepack build --content $(CONTENT) --out $(OUT)

build: $(OUT)/datapackage.json ## Set up and build dist/ from content/

validate: $(OUT)/datapackage.json ## Validate dist/ (frictionless, DuckDB, hashes)
	$(BIN)/pledgepack validate $(OUT)

release: $(BIN)/pledgepack ## Cut release VERSION into dist/ (zip, SHA256SUMS, README, CHANGELOG) and its site
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z [PREVIOUS=tag|zip] [BASE_URL=url] [FLAT=1]" >&2; exit 2; }
	$(BIN)/pledgepack release --version $(VERSION) --content $(CONTENT) --out $(OUT) \
		$(if $(PREVIOUS),--previous $(PREVIOUS)) $(if $(BASE_URL),--base-url $(BASE_URL)) \
		$(if $(FLAT),--flat)
	$(BIN)/pledgepack site $(OUT) --out $(SITE) \
		--zip $(SITE_ZIP) $(if $(SITE_URL),--base-url $(SITE_URL)) \
		$(if $(REPOSITORY_URL),--repository-url $(REPOSITORY_URL))

# make test [TEST_JOBS=2]: the tests on that many pytest-xdist workers (0: in one process).
TEST_JOBS ?= 2

test: $(BIN)/pledgepack $(COMPAT)/bin/python $(CFF)/bin/cffconvert ## Set up and run the tests
	PLEDGEPACK_DUCKDB14_PYTHON=$(CURDIR)/$(COMPAT)/bin/python \
		PLEDGEPACK_CFFCONVERT=$(CURDIR)/$(CFF)/bin/cffconvert $(BIN)/python -m pytest \
		-n $(TEST_JOBS)

# make fuzz [FUZZ_EXAMPLES=3000]: the property suite with many examples per property, and
# the kill test of build and release at random moments, with hypothesis' statistics.
FUZZ_EXAMPLES ?= 3000
fuzz: $(BIN)/pledgepack ## Run the property suite long (FUZZ_EXAMPLES per property) and the random-kill test
	PLEDGEPACK_HYPOTHESIS_PROFILE=fuzz PLEDGEPACK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		PLEDGEPACK_FUZZ_KILLS=40 $(BIN)/python -m pytest -q -p no:cacheprovider \
		--hypothesis-show-statistics tests/test_properties.py tests/test_fast_yaml.py \
		tests/test_kills.py

bench: $(BIN)/pledgepack ## Time the build (100k statements), history walk, lint, release, exports and site (needs ../shared/bench)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_rebuild.py --sizes 10k,100k,300k
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_lint.py
	$(BIN)/python bench/bench_release.py
	$(BIN)/python bench/bench_exports.py
	$(BIN)/python bench/bench_site.py
	$(BIN)/python bench/bench_links.py
	$(BIN)/python bench/check_fast_yaml.py

clean: ## Remove dist/, site/ and the virtual environments
	rm -rf $(OUT) $(SITE) $(VENV) $(COMPAT) $(CFF) .pytest_cache
