# Two commands do all the set-up: `make dev` (the whole loop locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: deps dev test lint typecheck bench soak clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(BIN)/.installed node_modules/.installed

dev: deps
	$(BIN)/python -m localdev.dev

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

test: deps lint typecheck
	$(BIN)/python -m pytest

# e.g. make bench BENCH_ARGS="--messages 200 --runs 1"
bench: deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# The delivery promise at scale (SOAK_ARGS="--messages 2000" for a shorter run).
soak: deps
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .localdev
