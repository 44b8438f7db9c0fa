# OpsWatchdog developer commands. `make demo` and `make test` are the two a new user needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch lies on disk; install it first or sentence-transformers pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/opswatchdog demo --hosts 20 $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check graph tools_server checkpoints app simfleet

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/inspect_fleet.py

# langgraph dev (offline, 127.0.0.1:$(STUDIO_PORT)) on a simulated 20-host fleet with seeded metrics; Ctrl-C stops all.
STUDIO_PORT ?= 2025
.PHONY: studio
studio: $(STAMP)
	BIN=$(BIN) STUDIO_PORT=$(STUDIO_PORT) scripts/studio.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
