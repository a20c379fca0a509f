# Two commands do everything on a fresh clone:
#   make demo   # set up .venv, then run the main job on sklearn digits (no download)
#   make test   # set up .venv, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ganaug-installed
OUT    ?= runs/demo

.PHONY: install demo quick test lint clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ganaug evaluate --dataset digits --out $(OUT)

quick: $(STAMP)
	$(BIN)/ganaug evaluate --dataset digits --quick --out runs/quick

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check ganaug tests examples benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info
