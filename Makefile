# Every target bootstraps its own virtual environment from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint pytest

# Every group from one run; the tables go into docs/performance.md and the README's
# headline; exits 1 when a report differs or an acceptance point fails.
bench: $(STAMP)
	$(BIN)/python -m benchmarks --strict --docs

clean:
	rm -rf $(VENV) demo-out bench-out
