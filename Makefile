# Two commands do all the set-up: `make dev` (the whole loop locally) and `make test`.
PYTHON ?= python3
VENV ?= .venv
# test-py313 runs the whole suite again in its own venv on Python 3.13 (the newest the
# Functions Python worker runs): python3.13 on PATH, else one pyenv built, else PYTHON313=...
# The 3.13 worker indexes the app from a second venv holding requirements.txt alone, as Azure
# installs it, so that no dev dependency can hide a missing runtime one.
PYTHON313 ?= $(firstword $(foreach p,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13),$(shell $(p) -c 'print("$(p)")' 2>/dev/null)))
BIN := $(VENV)/bin

.PHONY: deps browser dev key test test-py313 lint typecheck bench soak clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(BIN)/.installed node_modules/.installed

# The console's browser tests drive Debian's chromium through Playwright (which cannot
# download a browser of its own here). Installing needs root, as CI has; without it the
# browser tests skip, except with CI=true, where a missing browser fails them.
browser:
	@command -v chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
		echo "make: could not install chromium; the browser tests will skip (or fail with CI=true)" >&2

dev: deps
	$(BIN)/python -m localdev.dev

# The function key `make dev` uses (kept in .localdev/host_keys.json): export KEY=$$(make -s key)
key: $(BIN)/.installed
	@$(BIN)/python -m localdev.dev --key

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

test: deps browser lint typecheck
	$(BIN)/python -m pytest

RUNTIME313 := .venv-py313-runtime

$(RUNTIME313)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON313)" || { echo "test-py313: no Python 3.13 found; set PYTHON313=/path/to/python3.13" >&2; exit 1; }
	test -x $(RUNTIME313)/bin/python || $(PYTHON313) -m venv $(RUNTIME313)
	$(RUNTIME313)/bin/python -m pip install --quiet -r requirements.txt \
		"$$(grep '^azure-functions-runtime==' requirements-dev.txt | cut -d';' -f1)"
	touch $@

test-py313: $(RUNTIME313)/.installed
	RUNTIME_INDEX_PYTHON=$(CURDIR)/$(RUNTIME313)/bin/python \
		$(MAKE) test PYTHON=$(PYTHON313) VENV=.venv-py313

# e.g. make bench BENCH_ARGS="--messages 200 --runs 1"
bench: deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# The delivery promise at scale (SOAK_ARGS="--messages 2000" for a shorter run).
soak: deps
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf .venv .venv-py313 $(RUNTIME313) node_modules .pytest_cache .mypy_cache .ruff_cache .localdev
