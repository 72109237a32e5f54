# tedxpay: `make run` serves the demo, `make test` runs the whole suite on MariaDB.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint venv venv-dev venv-bench bench chaos clean

run: venv
	scripts/run.sh

test:
	scripts/test.sh

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(VENV)/.installed-run
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv-dev: $(VENV)/.installed-dev
$(VENV)/.installed-dev: requirements.txt requirements-mysql.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

venv-bench: $(VENV)/.installed-bench
$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-dev
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@

# The performance record (starts its own MariaDB, Redis, simulator and gunicorn; about five
# minutes): results in bench/results/, see docs/performance.md. BENCH_ARGS=--quick for a short run.
bench: venv-dev venv-bench
	$(BIN)/python bench/record.py $(BENCH_ARGS)

# Chaos run: 1,000 orders on the real stack with Xendit faults, lost and late callbacks and
# a killed worker; exits 1 on any discrepancy. See docs/reliability.md.
chaos: venv-dev
	$(BIN)/python bench/chaos.py

clean:
	rm -rf var/ .pytest_cache
