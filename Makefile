# facelab: the two commands a newcomer needs are `make report` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.facelab-installed

.PHONY: setup report lint test notebooks course clean

# A virtual environment with the exact pins of requirements.txt and facelab installed editable.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

# The main job: the evaluation report on the default two-ID set (built from LFW if missing).
report: $(STAMP)
	MPLBACKEND=Agg $(BIN)/facelab report

# The linter (ruff, pinned in requirements.txt; rules in pyproject.toml), notebooks included.
lint: $(STAMP)
	$(BIN)/ruff check .

# Lint first, then the whole test suite, notebooks included (they execute headless).
test: lint
	MPLBACKEND=Agg $(BIN)/python -m pytest

# The course: every notebook executed, as static HTML with an index, in reports/course/.
course: $(STAMP)
	MPLBACKEND=Agg $(BIN)/facelab course

# Open the notebooks in JupyterLab.
notebooks: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) .pytest_cache
