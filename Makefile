# Hoister: `make run` opens the app, `make test` runs the whole suite.
# Both set up everything they need on a fresh Debian or Ubuntu machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint bench soak screenshots clean venv sysdeps-run sysdeps-test package package-check

# System packages first: creating the virtual environment may itself need python3-venv.
sysdeps-run:
	@bash tools/system-packages.sh run

sysdeps-test:
	@bash tools/system-packages.sh test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-run

run: sysdeps-run $(VENV)/.installed-run
	$(BIN)/hoister

test: sysdeps-test $(VENV)/.installed-test
	$(BIN)/ruff check app tests tools
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check app tests tools
	$(BIN)/ruff format --check app tests tools

$(VENV)/.installed-package: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[package]'
	touch $@ $(VENV)/.installed-run

# The desktop bundle (PyInstaller, one folder): dist/hoister/hoister. See packaging/README.md.
package: sysdeps-run $(VENV)/.installed-package
	PYTHON=$(BIN)/python bash tools/package.sh build

# Runs the built bundle: --version, a CLI command, the GUI offscreen, the real keyring.
package-check:
	bash tools/package.sh check

bench: sysdeps-test $(VENV)/.installed-test
	$(BIN)/python -m bench

# Exactly-once under kill -9, several engines, a flaky network; about 5 minutes (bench/README.md).
soak: sysdeps-test $(VENV)/.installed-test
	$(BIN)/python -m bench soak

screenshots: sysdeps-test $(VENV)/.installed-run
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/screenshots.py docs/screenshots

clean:
	rm -rf $(VENV) build dist *.egg-info app/*.egg-info .pytest_cache .ruff_cache
