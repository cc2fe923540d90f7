# Two commands do all the set-up on a fresh machine (each creates .venv when it is missing):
#   make scan   - run the main job, `arb scan` (pass options with ARGS="--sandbox --duration 20")
#   make test   - run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install scan sandbox test lint check bench soak browser clean

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

# Debian's chromium for the status page's browser test (idempotent; skipped where it is
# already installed, or without root / apt-get, where that test then skips with a reason).
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| echo "chromium could not be installed: the browser test will skip"; \
	else echo "no root or apt-get: chromium not installed, the browser test will skip"; fi

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
