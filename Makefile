PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test bench clean bytecode

# (Re)create the virtualenv and install the kit with its test extras
# whenever pyproject.toml changes. pip is quiet but still prints errors.
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

# `make serve PORT=5105 HOST=0.0.0.0` serves elsewhere; DB=path/state.db keeps the state elsewhere.
HOST ?= 127.0.0.1
PORT ?= 4010
DB   ?= ./.mockserver/state.db

# The kit's own modules as bytecode, as pip leaves a (non-editable) install: an editable one is compiled
# at first import, and never written back where PYTHONDONTWRITEBYTECODE is set, so every mock started
# compiled ~60 modules again (~120 ms of its start-up). Up-to-date files are skipped, so this is quick.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q capillary_contract mockserver contracts >/dev/null

serve: bytecode
	@mkdir -p $(dir $(DB))
	$(BIN)/mockserver serve --host $(HOST) --port $(PORT) --db $(DB)

# The suite runs on every core (pytest-xdist); PYTEST_ARGS='-n 0' runs it in one process.
# loadgroup keeps tests marked xdist_group("…") on one worker (e.g. those sharing one installed kit).
PYTEST_ARGS ?= -n auto --dist loadgroup

test: bytecode
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: bytecode
	$(BIN)/python bench/run_all.py

# Removes the virtualenv and build/test caches; keeps the mock's state in .mockserver/.
clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis reports
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
