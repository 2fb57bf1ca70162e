# The two commands README.md leads with:
#   make site   - set up (virtualenv, npm packages) and build _site/ from seeds/
#   make test   - set up (plus Chromium for browser tests) and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: site test setup browser hugo clean screenshots bench bench-scale bench-search

site: setup
	$(BIN)/sitegen build

test: setup browser
	$(BIN)/python -m pytest

# pip byte-compiles an installed package, but not an editable one, and where
# PYTHONDONTWRITEBYTECODE is set (as on some CI machines) Python never caches the
# bytecode: every command then compiles sitegen's modules again (0.1-0.25 s a run).
# compileall skips what is up to date.
setup: $(STAMP) node_modules/.package-lock.json
	@$(BIN)/python -m compileall -q sitegen

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser:
	@scripts/install-browser

hugo:
	@scripts/install-hugo

screenshots: setup browser
	$(BIN)/python -m sitegen build
	$(BIN)/python scripts/screenshots.py _site screenshots

bench: setup hugo
	$(BIN)/python benchmarks/bench.py

bench-scale: setup
	$(BIN)/python benchmarks/bench.py --sizes 10000,100000 --cold-only --no-hugo

bench-search: setup
	$(BIN)/python benchmarks/search_bench.py --papers 10000

clean:
	rm -rf _site ._site.* .sitegen-cache screenshots
