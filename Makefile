# Two commands on a fresh clone: `make demo` and `make test`. Each builds .venv the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit proto serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[hub,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/coalition demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

proto: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

serve: $(STAMP)
	$(BIN)/coalition serve

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
