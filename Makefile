.PHONY: setup test lint typecheck demo demo-quick bench clean

VENV := .venv
BIN := $(VENV)/bin

setup:
	@scripts/setup

lint: setup
	$(BIN)/ruff check tenfold reports reference_services locustfiles tests bench
	$(BIN)/ruff format --check tenfold reports reference_services locustfiles tests bench

typecheck: setup
	$(BIN)/mypy

test: setup
	$(BIN)/ruff check tenfold reports reference_services locustfiles tests bench
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
