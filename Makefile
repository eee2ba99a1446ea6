# The two commands of the README:
#   make demo   set everything up, run the local demo end to end, stop cleanly
#   make test   set everything up, lint, type-check and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint pytest setup system-deps kafka-jars clean

demo: setup system-deps
	$(BIN)/rapport demo

test: setup system-deps kafka-jars lint pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

system-deps:
	bash deploy/install-system-deps.sh

kafka-jars: setup system-deps
	$(BIN)/rapport kafka fetch

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
