# Two commands do all set-up: `make demo` and `make test`. Both create or reuse .venv/.
export PYENV_VERSION ?= 3.12.1
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean clean-kernels

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	$(BIN)/mcscale compile
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mcscale run scenarios/baseline.toml
	@echo
	@echo "mcscale is installed in $(VENV)/: run '. $(VENV)/bin/activate' to put it on PATH (or call $(BIN)/mcscale)."

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# numba's cache checks only the file a kernel is defined in, not the helpers inlined into it
# (sim/kernels/special.py): after editing those, drop the compiled kernels.
clean-kernels:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-kernels
	rm -rf $(VENV) build src/*.egg-info
