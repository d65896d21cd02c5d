# portalbot — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Playwright's own Chromium where it can be downloaded; else Debian's chromium (as root);
# else a clear message saying what to install.
browser: install
	$(VENV)/bin/portalbot browser --install

demo: install browser
	$(PY) -m fixtures.demo

# Two workers, one test file each (a file's shared portals and browsers stay in one worker).
test: install browser
	$(PY) -m pytest -n 2 --dist loadfile

lint: install
	$(VENV)/bin/ruff check src payers fixtures tests bench
	$(VENV)/bin/mypy

bench: install browser
	$(PY) bench/run.py

clean:
	rm -rf var/demo .pytest_cache .mypy_cache .ruff_cache
