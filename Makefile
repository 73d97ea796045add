# mmddl: `make test` / `make demo` set up .venv on a fresh machine and run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# MMCV=full (default): full mmcv with compiled ops (mmdet needs them), built
# once from source by tools/misc/build_mmcv.sh and cached outside the tree
# (~/.cache/mmddl/wheels), plus mmdet for the tracks part.
# MMCV=lite: mmcv-lite and no mmdet (video, face and re-ID only; the mmdet
# tests skip, saying why).
MMCV   ?= full
STAMP  := $(VENV)/.installed-$(MMCV)
TASK   ?= video
ARGS   ?=
# Exact versions the suite is tested with; users get the ranges of
# requirements/runtime.txt instead.
PINS   := -c requirements/constraints.txt
MMWHL  := $(VENV)/.mmwheels
# Wheels whose METADATA asks for opencv-python (see below).
CVWHLS := mmengine $(if $(filter lite,$(MMCV)),mmcv-lite,trackeval)

.PHONY: install test demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the requirements, pins, setup.py or the mmcv build
# change. One OpenCV distribution (mmaction2's opencv-contrib-python): the
# wheels of mmengine 0.10.7, mmcv-lite 2.1.0 and trackeval 1.3.0 require
# opencv-python, so they are installed with that one line dropped from their
# METADATA, which is what mmengine's and mmcv's setup.py write when cv2 is
# importable at build time (their sdists cannot be used: mmengine's lacks
# requirements/ and declares no deps). An opencv-python left by an older
# .venv is removed. Full mmcv is built after opencv-contrib-python is in, so
# its wheel does not ask for opencv-python either.
$(STAMP): $(PY) setup.py requirements/*.txt tools/misc/build_mmcv.sh
	rm -f $(VENV)/.installed*
	$(PIP) install -q $(PINS) --upgrade pip setuptools wheel
	rm -rf $(MMWHL)
	$(PIP) download -q $(PINS) --no-deps --only-binary :all: -d $(MMWHL) \
	  $(CVWHLS)
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
	  -r requirements/tests.txt
	if $(PIP) show -q opencv-python 2>/dev/null; then \
	  $(PIP) uninstall -q -y opencv-python && \
	  $(PIP) install -q $(PINS) --force-reinstall --no-deps \
	    opencv-contrib-python; fi
ifeq ($(MMCV),lite)
	$(PIP) uninstall -q -y mmdet mmcv 2>/dev/null || true
	$(PIP) install -q $(PINS) -r requirements/lite.txt
else
	whl=$$(bash tools/misc/build_mmcv.sh $(PY)) || exit 1; \
	  $(PIP) uninstall -q -y mmcv-lite 2>/dev/null; \
	  $(PIP) install -q --no-deps "$$whl"
	$(PIP) install -q $(PINS) -r requirements/mmdet.txt
endif
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) demo/run_demo.py --task $(TASK) $(ARGS)

clean:
	rm -rf work_dirs build *.egg-info
