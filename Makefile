# The two commands (README): `make run` serves the product, `make test` runs every test.
# Both set up everything first: .venv, pinned packages, .env with a random SECRET_KEY
# and REDIS_PASSWORD, and (through the embedded launcher) libssl 1.1 for Redis where the
# system lacks it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint format bench redis-start redis-stop clean .env

setup: $(STAMP) .env

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Every time, not only when .env is missing: an older .env gets the secrets it lacks
# (REDIS_PASSWORD, since the embedded Redis requires one); lines already there are kept.
.env: $(STAMP)
	@$(BIN)/python -m config.envfile

run: setup
	$(BIN)/python manage.py serve

test: setup
	$(BIN)/python -m pytest

# Every benchmark (bench/run_all.py), written to docs/BENCHMARKS.md.
# BENCH_ARGS="--quick" for reduced sizes, "--with-load" to add the 1,000-user load test.
bench: setup
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

redis-start: setup
	$(BIN)/python manage.py redis_stack start

redis-stop: setup
	$(BIN)/python manage.py redis_stack stop

clean:
	rm -rf $(VENV) var/staticfiles
