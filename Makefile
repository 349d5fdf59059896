.PHONY: setup test lint typecheck demo demo-quick bench clean

VENV := .venv
BIN := $(VENV)/bin

setup:
	@scripts/setup

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

demo: setup
	$(BIN)/tenfold run

demo-quick: setup
	$(BIN)/tenfold run --quick

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf runs/ .pytest_cache .mypy_cache .ruff_cache
