# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   the incident, end to end (syscontract demo)
#   make test   the test suite, then ruff and mypy (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean services dist

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

# the servers (a missing one is a line saying which tests skip), the suite, then ruff and mypy whatever
# the suite said: the run fails when the suite or lint does (or, with CI=true, when a server is missing)
test: $(STAMP)
	@bash .ci/services; services=$$?; \
	$(BIN)/python -m pytest; tests=$$?; \
	$(MAKE) --no-print-directory lint; lint=$$?; \
	if [ "$$CI" != true ]; then services=0; fi; \
	if [ $$tests -ne 0 ] || [ $$lint -ne 0 ] || [ $$services -ne 0 ]; then \
		echo "make test: failed (pytest exit $$tests, lint exit $$lint, services exit $$services)" >&2; exit 1; \
	fi

# every check runs, whatever the one before it said; lint fails when any does
lint: $(STAMP)
	@status=0; \
	for check in "ruff check syscontract tests benchmarks examples" "ruff format --check syscontract" mypy; do \
		echo "$(BIN)/$$check"; $(BIN)/$$check || status=1; \
	done; \
	exit $$status

# the sdist and the wheel built from it, in dist/ (syscontract is not on PyPI yet: pip install
# dist/syscontract-*.whl installs it; tests/integration/test_wheel.py installs it into a fresh venv)
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_requires.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist

# mutation testing of the engine, on demand (never in CI): mutmut copies the package into mutants/ and
# runs the engine's promise tests ([tool.mutmut] in pyproject.toml) against every mutant of FILES
# (each must be in [tool.mutmut] only_mutate too).
#   make mutate                                         syscontract/_engine/presence.py
#   make mutate FILES="syscontract/_engine/presence.py syscontract/_engine/decoder.py"
# Survivors: .venv/bin/mutmut results; one of them: .venv/bin/mutmut show NAME (docs/mutation.md)
FILES ?= syscontract/_engine/presence.py
.PHONY: mutate
mutate: $(STAMP)
	test -x $(BIN)/mutmut || $(BIN)/python -m pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	nice -n 10 $(BIN)/mutmut run --max-children 2 $(foreach f,$(FILES),"$(subst /,.,$(basename $(f))).*")
