# Quick start: `make demo` runs the main job on this machine's own Python installation;
# `make test` runs the test suite. Both build .venv first and need only the package registries.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out/demo
WORKERS ?= 1
FAMILY ?= starcoder
TRAIN_STEPS ?= 100

.PHONY: venv browser test test-all demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,train]'
	touch $(STAMP)

venv: $(STAMP)

# The data card's test renders the report in headless Chromium: Debian's package, installed
# when missing and we may (root with apt-get); otherwise that one test is skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
		|| echo "make: could not install chromium; the data card's browser test will be skipped" >&2; \
	fi

test: $(STAMP) browser
	$(PY) -m pytest -q -m "not slow"

test-all: $(STAMP) browser
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/stackpipe run deploy/run/demo.yaml --output $(OUT) --family $(FAMILY) --workers $(WORKERS)
	$(VENV)/bin/stackpipe train --data $(OUT)/code/shards --output $(OUT)/train --family $(FAMILY) --preset debug \
		--steps $(TRAIN_STEPS) --seq-len 256 --micro-batch 4 --warmup-steps 20 --lr 1e-3 --device cpu
	$(VENV)/bin/stackpipe export-hf $(OUT)/train $(OUT)/hf
	$(VENV)/bin/stackpipe report $(OUT)

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/curate.py
	$(PY) benchmarks/dedup.py
	$(PY) benchmarks/components.py
	$(PY) benchmarks/pack.py
	$(PY) benchmarks/licenses.py
	$(PY) benchmarks/licenses_kept.py
	$(PY) benchmarks/pii.py
	$(PY) benchmarks/eval_pii.py
	$(PY) benchmarks/decontam.py
	$(PY) benchmarks/eval_decontam.py
	$(PY) benchmarks/commoncrawl.py
	$(PY) benchmarks/shards.py
	$(PY) benchmarks/train.py

clean:
	rm -rf $(VENV) out .pytest_cache
