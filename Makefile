# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing, installs torch first (the CPU build on disk here), then the
# package with its extras.  A second run reuses the venv (the stamp file) and starts fast.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0
OUT ?= out

.PHONY: demo test bench-predictors bench-search bench-parallel clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,bench,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m naspredict.demo --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest

bench-predictors: $(STAMP)
	$(PY) benchmarks/predictors.py

bench-search: $(STAMP)
	$(PY) benchmarks/search.py

bench-parallel: $(STAMP)
	$(PY) benchmarks/parallel.py all

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
