.PHONY: setup test test-fast mutation lint typecheck demo demo-quick bench calibrate clean

VENV := .venv
BIN := $(VENV)/bin

setup:
	@scripts/setup

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# pytest keeps the modules it rewrites (the tests, and the ~400 of the hypothesis and schemathesis plugins) as bytecode
# only where bytecode may be written: with PYTHONDONTWRITEBYTECODE set (as on these machines) every pytest process
# rewrote them again (make test-fast: 53 s instead of 39). Its caches go to __pycache__ dirs, which git ignores.
WRITE_BYTECODE := PYTHONDONTWRITEBYTECODE=

# Four workers (the tests mostly wait), one test file each at a time (a file's shared stack stays on its worker); tests marked
# `exclusive` (the 20x overload run, the autoscaling pair) take the machine to themselves, last; before them the longest
# files first (tests/file_seconds.json), in the suite's own order: --no-loadscope-reorder (tests/conftest.py).
# mypy (about 12 s of one core from a cold cache) checks beside pytest at the lowest CPU priority (the suite is
# CPU-bound until its exclusive runs, which leave about half the machine idle), its report after pytest's; either
# failing fails the target.
test: setup
	$(BIN)/ruff check .
	@typed=$$(mktemp); trap 'rm -f "$$typed"' EXIT; nice -n 19 $(BIN)/mypy >"$$typed" 2>&1 & mypy=$$!; \
	$(WRITE_BYTECODE) $(BIN)/pytest -q -n 4 --dist loadfile --no-loadscope-reorder; tests=$$?; \
	wait $$mypy; types=$$?; echo "mypy:"; cat "$$typed"; rm -f "$$typed"; \
	[ $$types -eq 0 ] || echo "make test: mypy found type errors (above)"; \
	[ $$tests -eq 0 ] && [ $$types -eq 0 ]

# The edit-test loop: the tests that start no server, no stack and no load (under a minute).
test-fast:
	$(WRITE_BYTECODE) $(BIN)/pytest -q -n 3 -m "not e2e and not servers"

# Mutation testing of the verdict logic (reports/slo.py, indicators/, evaluate.py) against the pure tests that judge
# it ([tool.mutmut] in pyproject.toml), from scratch, at the lowest CPU priority; fails under a 95% score. Not part of
# `make test`: docs/mutation.md.
mutation: setup
	rm -rf mutants
	nice -n 19 $(BIN)/mutmut run --max-children 2
	$(BIN)/python scripts/mutation_score.py

demo: setup
	$(BIN)/tenfold run

demo-quick: setup
	$(BIN)/tenfold run --quick

bench: setup
	$(BIN)/python -m bench

# The calibration study (about two and a half hours; nothing else should run meanwhile): docs/calibration.md.
calibrate: setup
	$(BIN)/python -m bench calibrate

clean:
	rm -rf runs/ .pytest_cache .mypy_cache .ruff_cache mutants/
