PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
DEMO_DB ?= demo.db

.PHONY: demo test lint bench install refdata clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TESTSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	RESTRAT_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/restrat seed demo --reset
	RESTRAT_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/restrat serve --host 127.0.0.1 --port 8000

test: $(TESTSTAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: $(TESTSTAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(TESTSTAMP)
	$(BIN)/python -m benchmarks
	for b in quota exports environment industry market technology; do $(BIN)/python -m benchmarks.$$b || exit 1; done

# Refresh the reference data shipped inside the package from ../shared/data (the project's data room).
refdata:
	cp ../shared/data/*.csv ../shared/data/*.md src/restrat/catalog/data/reference/

clean:
	rm -rf $(VENV) *.egg-info src/*.egg-info .pytest_cache .ruff_cache
