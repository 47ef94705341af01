# Every target builds its own virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-pandas2 lint bench docs clean

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

test: lint
	$(BIN)/python -m pytest

# The same tests against pandas 2.x, in a second environment (CI runs both).
PANDAS2_STAMP := .venv-pandas2/.installed

$(PANDAS2_STAMP): pyproject.toml
	$(PYTHON) -m venv .venv-pandas2
	.venv-pandas2/bin/python -m pip install --quiet --upgrade pip
	.venv-pandas2/bin/python -m pip install --quiet -e ".[test,plot]" "pandas>=2.1,<3"
	touch $(PANDAS2_STAMP)

test-pandas2: $(PANDAS2_STAMP)
	.venv-pandas2/bin/python -m pytest -q

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
