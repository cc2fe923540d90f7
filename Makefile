# Two commands do all the set-up on a fresh machine (each creates .venv when it is missing):
#   make scan   - run the main job, `arb scan` (pass options with ARGS="--sandbox --duration 20")
#   make test   - run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install scan sandbox test lint check bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

scan: $(STAMP)
	$(BIN)/arb scan $(ARGS)

sandbox: $(STAMP)
	$(BIN)/arb scan --sandbox --duration 20 $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

soak: $(STAMP)
	$(BIN)/python scripts/soak.py --minutes 10 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict arb

check: lint test

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
