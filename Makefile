# mmddl: `make test` / `make demo` set up .venv on a fresh machine and run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TASK   ?= video
ARGS   ?=
# Exact versions the suite is tested with; users get the ranges of
# requirements/runtime.txt instead.
PINS   := -c requirements/constraints.txt
MMWHL  := $(VENV)/.mmwheels

.PHONY: install test demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the requirements, pins or setup.py change.
# One OpenCV distribution (mmaction2's opencv-contrib-python): the wheels of
# mmengine 0.10.7 and mmcv-lite 2.1.0 require opencv-python, so they are
# installed with that one line dropped from their METADATA, which is what
# their setup.py writes when cv2 is importable at build time (their sdists
# cannot be used: mmengine's lacks requirements/ and declares no deps).
# An opencv-python left by an older .venv is removed.
$(STAMP): $(PY) setup.py requirements/*.txt
	$(PIP) install -q $(PINS) --upgrade pip setuptools wheel
	rm -rf $(MMWHL)
	$(PIP) download -q $(PINS) --no-deps --only-binary :all: -d $(MMWHL) \
	  mmengine mmcv-lite
	for w in $(MMWHL)/*.whl; do \
	  $(PY) -m wheel unpack -d $(MMWHL)/x $$w >/dev/null && \
	  meta=$$(echo $(MMWHL)/x/*/*.dist-info/METADATA) && \
	  grep -q '^Requires-Dist: opencv-python' $$meta && \
	  sed -i '/^Requires-Dist: opencv-python/d' $$meta && \
	  $(PY) -m wheel pack -d $(MMWHL) $(MMWHL)/x/* >/dev/null && \
	  rm -rf $(MMWHL)/x || { echo "$$w: no opencv-python line to drop;" \
	    "update the Makefile's OpenCV step"; exit 1; }; done
	$(PIP) install -q --no-deps --force-reinstall $(MMWHL)/*.whl
	$(PIP) install -q $(PINS) -r requirements/runtime.txt \
	  -r requirements/lite.txt -r requirements/tests.txt
	if $(PIP) show -q opencv-python 2>/dev/null; then \
	  $(PIP) uninstall -q -y opencv-python && \
	  $(PIP) install -q $(PINS) --force-reinstall --no-deps \
	    opencv-contrib-python; fi
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) tools/demo.py --task $(TASK) $(ARGS)

clean:
	rm -rf work_dirs build *.egg-info
