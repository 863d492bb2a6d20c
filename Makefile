# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# PyTorch is memory-mapping heavy on glibc; these make CPU inference about 3x faster (see docs/performance.md).
export MALLOC_MMAP_MAX_ := 0
export MALLOC_TRIM_THRESHOLD_ := 100000000000
export HF_HUB_OFFLINE := 1
# OpenMP (LightGBM, torch: GNU libgomp) threads spin 10,000 rounds at a barrier, then sleep, instead of libgomp's
# 300,000: on a busy machine a spinning thread burns the core its partner needs, and OMP_WAIT_POLICY=PASSIVE (no
# spin at all) made a quiet machine's two-thread fits slower (see docs/performance.md). A value you set wins.
export GOMP_SPINCOUNT ?= 10000
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test lint typecheck install install-dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The CPU build of torch first, pinned exactly: an unpinned torch pulls several GB of CUDA packages.
# PyTorch's CPU index is an extra index, so pip takes torch-2.13.0+cpu from it (a local version sorts
# above plain 2.13.0) and the rest from PyPI. tools/torch_index.py passes it only when it answers;
# otherwise pip's own configuration picks the build. `make TORCH_INDEX= ...` skips it.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0 $$($(BIN)/python tools/torch_index.py "$(TORCH_INDEX)")
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

# The tests exercise the optional Ray backend too, so the dev install includes the ray extra.
$(DEVSTAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(DEVSTAMP)

install: $(STAMP)
install-dev: $(DEVSTAMP)

demo: $(STAMP)
	$(BIN)/assetgrade demo --workspace demo-workspace

test: $(DEVSTAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q --durations=25 -n auto --maxprocesses=4 --dist worksteal

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-workspace
