# Every target creates .venv if missing; `setup` is quick when already installed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test browser bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	# torch first and pinned (constraints.txt): 2.13.0 is a local CPU wheel; an open range pulls a multi-GB CUDA build.
	$(BIN)/pip install -q -c constraints.txt torch
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/datafactors run

test: setup
	$(BIN)/python -m pytest -q

# Debian's chromium for the report's browser test (needs root; CI runs it before `make test`).
# `make test` does not depend on it: without /usr/bin/chromium that one test is skipped.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "warning: could not install chromium; the browser test will be skipped"

bench: setup
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
