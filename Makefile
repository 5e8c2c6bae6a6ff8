# Two commands on a fresh clone: `make demo` and `make test`. Each builds .venv the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint proto-lint proto-baseline typecheck unit proto serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[hub,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/coalition demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP) proto-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# buf lint + breaking check of protos/ (installs buf from npm on first use; see scripts/buf.sh).
proto-lint:
	bash scripts/buf.sh

# Rebuild the released-contract baseline when a release is tagged (see scripts/buf.sh).
proto-baseline:
	bash scripts/buf.sh baseline

typecheck: $(STAMP)
	$(BIN)/mypy

proto: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

serve: $(STAMP)
	$(BIN)/coalition serve

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
