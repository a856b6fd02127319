# One task runner for people and CI. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint proto proto-check bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Start the server with its embedded Redis and the default city, drive a short demo through gRPC, stop.
demo: install
	$(PY) -m bench.demo

## The test suite (real redis-server, real gRPC server, the cockpit in a real headless Chromium).
test: install
	bash tools/ensure_chromium.sh
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --yes @bufbuild/buf lint proto

proto: install
	$(PY) tools/gen_protos.py

proto-check: install
	$(PY) tools/gen_protos.py --check

bench: install
	$(PY) -m bench.ingest
	$(PY) -m bench.travel_times
	$(PY) -m bench.supply

clean:
	rm -rf $(VENV) .tongcheng *.egg-info
