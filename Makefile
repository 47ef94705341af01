# Every target builds its own virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-pandas2 lint ensure-chromium bench notebooks docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/healthbalance benchmark --quick --out reports

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint ensure-chromium
	$(BIN)/python -m pytest

# The report's browser test (tests/benchmark/test_report_browser.py) needs Debian's
# chromium and chromium-driver: installed here when run as root (as in CI), otherwise
# the target fails with the command to run.
CHROMIUM_BINS := /usr/bin/chromium /usr/bin/chromedriver
ensure-chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else \
		echo "$(CHROMIUM_BINS) missing: run sudo apt-get install -y chromium" \
			"chromium-driver (or sudo make ensure-chromium)"; exit 1; \
	fi

# The same tests against pandas 2.x, in a second environment (CI runs both).
PANDAS2_STAMP := .venv-pandas2/.installed

$(PANDAS2_STAMP): pyproject.toml
	$(PYTHON) -m venv .venv-pandas2
	.venv-pandas2/bin/python -m pip install --quiet --upgrade pip
	.venv-pandas2/bin/python -m pip install --quiet -e ".[test,plot]" "pandas>=2.1,<3"
	touch $(PANDAS2_STAMP)

test-pandas2: $(PANDAS2_STAMP) ensure-chromium
	.venv-pandas2/bin/python -m pytest -q

# Every notebook executed top to bottom on a copy in reports/notebooks (it also runs
# there, so whatever a notebook writes lands in reports/); notebooks/ stays as
# committed, without outputs. A failing cell fails the target.
notebooks: $(STAMP)
	rm -rf reports/notebooks
	mkdir -p reports/notebooks
	cp notebooks/*.ipynb reports/notebooks/
	$(BIN)/jupyter execute --inplace --timeout=600 --kernel_name=python3 \
		reports/notebooks/*.ipynb

# The benchmarks/ scripts at quick sizes (about 10 minutes on 2 cores), each printing
# to reports/bench/<script>.txt. The full-size runs are the scripts' defaults, e.g.
# .venv/bin/python benchmarks/bench_group_report.py (see the README).
BENCH := reports/bench
bench: $(STAMP)
	mkdir -p $(BENCH)
	$(call run_bench,bench_thresholds,--n-sets 60 --n-cv-sets 8)
	$(call run_bench,bench_coverage,--reps 20 --boot 200)
	$(call run_bench,bench_resampling,--n-samples 40000 --repeat 3)
	$(call run_bench,bench_group_report,--n-large 100000 --boot-large 200 \
		--n-compare 20000 --boot-compare 50)
	$(call run_bench,bench_group_dro,--n-samples 50000 --fairlearn-n-samples 20000 \
		--n-test 20000)
	$(call run_bench,bench_jtt_defaults,5000)
	$(call run_bench,bench_mimic,--rows 200000 --repeat 1 --workdir $(BENCH)/mimic)

# $(call run_bench,script,args): run benchmarks/script.py, keep its output, show it.
define run_bench
	$(BIN)/python benchmarks/$(1).py $(2) > $(BENCH)/$(1).txt 2>&1 \
		|| (cat $(BENCH)/$(1).txt; exit 1)
	@cat $(BENCH)/$(1).txt
endef

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# The documentation, warnings are errors; the HTML is in docs/_build/html. The API
# pages are regenerated each time, so a renamed object leaves no stale page behind.
docs: $(DOCS_STAMP)
	rm -rf docs/generated
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .venv-pandas2 .pytest_cache .hypothesis build *.egg-info docs/_build docs/generated
