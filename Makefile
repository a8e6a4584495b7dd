# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing, installs torch first (the CPU build on disk here), then the
# package with its extras.  A second run reuses the venv (the stamp file) and starts fast.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0
OUT ?= out

.PHONY: demo test fashion-mnist bench-predictors bench-search bench-parallel bench-training bench-oneshot clean

FMNIST := /usr/share/datasets/fashion-mnist

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,bench,ray]"
	touch $(STAMP)

# Fashion-MNIST's idx files for real training (Debian's dataset-fashion-mnist); best effort here,
# .ci/run insists.  Without them the demo skips its training step.
fashion-mnist:
	@test -d $(FMNIST) || { S=""; [ "$$(id -u)" -ne 0 ] && S="sudo"; \
	  $$S apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 || \
	  { $$S apt-get update >/dev/null 2>&1 && $$S apt-get install -y dataset-fashion-mnist >/dev/null 2>&1; } || \
	  echo "could not install dataset-fashion-mnist; real-training steps will be skipped"; }

demo: $(STAMP) fashion-mnist
	$(PY) -m naspredict.demo --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest

bench-predictors: $(STAMP)
	$(PY) benchmarks/predictors.py

bench-search: $(STAMP)
	$(PY) benchmarks/search.py

bench-parallel: $(STAMP)
	$(PY) benchmarks/parallel.py all

bench-training: $(STAMP) fashion-mnist
	$(PY) benchmarks/training.py all

bench-oneshot: $(STAMP) fashion-mnist
	$(PY) benchmarks/oneshot.py all

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
