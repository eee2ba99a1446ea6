# The two commands of the README:
#   make demo   set everything up, run the local demo end to end, stop cleanly
#   make test   set everything up, lint, type-check and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint pytest setup system-deps kafka-jars ops-tools clean

demo: system-deps setup
	$(BIN)/rapport demo

test: system-deps setup kafka-jars ops-tools lint pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

# The install compiles the sentiment annotator's hot modules (setup.py), so an edit to any of
# them re-runs it (until then the stale build is not used: services/sentiment/native.py).
$(VENV)/.installed: pyproject.toml setup.py $(wildcard services/sentiment/*.py services/sentiment/cx/*.py services/sentiment/cx/*.c) | system-deps
	@echo "installing Rapport into $(VENV) and compiling the sentiment annotator (about 2 minutes)…"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,eval]'
	touch $@

system-deps:
	PYTHON=$(PYTHON) bash deploy/install-system-deps.sh

kafka-jars: system-deps setup
	$(BIN)/rapport kafka fetch

# What the ops tests drive (podman, buildah, Prometheus, helm, the base image, the Compose
# schema); cached under ~/.cache/rapport and skipped when present (deploy/install-ops-tools.sh).
ops-tools: setup
	PIP=$(BIN)/pip bash deploy/install-ops-tools.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build
	find . -name '*.so' -not -path './.venv/*' -delete
	rm -f services/sentiment/native-build.json
