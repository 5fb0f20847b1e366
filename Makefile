# Every target sets up .venv from pyproject.toml first; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD_STAMP := $(VENV)/.installed-build

.PHONY: run test lint bench screenshots venv clean build build-tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/spoa-desk

test: $(STAMP)
	$(PY) -m ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Every main screen with synthetic data, offscreen, to docs/screenshots/*.png
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m ui.screenshots --out docs/screenshots

# The one-folder app in dist/spoa-desk/ (build.spec): spoa-desk and spoa, sharing one set of
# libraries. Check it with: dist/spoa-desk/spoa-desk --self-test
build: $(BUILD_STAMP) build-tools
	$(PY) -m PyInstaller --noconfirm --clean build.spec
	@echo "dist/spoa-desk: $$(du -sm dist/spoa-desk | cut -f1) MB on disk"

$(BUILD_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,build]'
	touch $(BUILD_STAMP)

# On Linux PyInstaller reads and writes executables with binutils (objdump, objcopy, strip);
# a machine without them gets them from the package manager when that is possible.
build-tools:
	@if [ "$$(uname -s)" = Linux ] && ! command -v objdump >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils; \
		else \
			echo "make build: PyInstaller needs binutils (objdump, objcopy, strip); install the 'binutils' package" >&2; \
			exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
