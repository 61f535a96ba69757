# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   the incident, end to end (syscontract demo)
#   make test   the test suite, then ruff and mypy (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean services

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syscontract demo

# the integration tests need Redis, NATS, RabbitMQ and Prometheus: started when installed (with
# CI=true a missing one fails the run; otherwise its tests skip and the run ends saying so)
services:
	bash .ci/services

test: $(STAMP)
	-bash .ci/services
	$(BIN)/python -m pytest
	$(MAKE) lint

lint: $(STAMP)
	$(BIN)/ruff check syscontract tests benchmarks examples
	$(BIN)/ruff format --check syscontract
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_requires.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
