# Two entry points for a new user: `make run` and `make test`. Each installs what it needs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Run the service on the embedded default (SQLite, ./ledger.db) with demo data.
run: $(BIN)/.installed
	$(BIN)/ledger-service demo
	$(BIN)/ledger-service serve

# The whole suite against SQLite and PostgreSQL (127.0.0.1:5432; a fresh database per test).
test: $(BIN)/.installed
	$(BIN)/python -m pytest

.PHONY: install run test
