# mmddl: `make test` / `make demo` set up .venv on a fresh machine and run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TASK   ?= video
ARGS   ?=

.PHONY: install test demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the requirements or setup.py change.
$(STAMP): $(PY) setup.py requirements/runtime.txt requirements/tests.txt
	$(PY) -m pip install -q --upgrade pip 'setuptools<80' wheel
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) tools/demo.py --task $(TASK) $(ARGS)

clean:
	rm -rf work_dirs build *.egg-info
