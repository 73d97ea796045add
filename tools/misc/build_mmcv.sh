#!/usr/bin/env bash
# Full mmcv (compiled CPU ops, needed by mmdet) for an environment whose torch
# has no prebuilt mmcv wheel (torch >= 2.2, e.g. 2.14): builds mmcv's source
# distribution once, with C++20 (torch's headers require it; mmcv 2.1.0's
# setup.py asks for C++14/17), and keeps the wheel in a cache keyed by the
# mmcv, torch and Python versions, so a later run reuses it.
#
#   tools/misc/build_mmcv.sh PYTHON     prints the wheel's path (last line)
#
# PYTHON: the interpreter of the environment (default: python). Cache:
# $MMDDL_WHEEL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/mmddl/wheels (beside
# pip's own cache). MAX_JOBS (default 2) compile jobs. About 25-40 minutes on
# 2 cores; nothing is rebuilt while the cached wheel's key is unchanged.
set -euo pipefail
PY=${1:-python}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
CACHE=${MMDDL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmddl/wheels}

key=$("$PY" - <<'EOF'
import sys
import torch
print(f"torch{torch.__version__.split('+')[0]}-cp{sys.version_info[0]}"
      f"{sys.version_info[1]}")
EOF
)
dir="$CACHE/mmcv-$MMCV_VERSION-$key"
wheel=$(ls "$dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$wheel" ]; then
  echo "mmcv $MMCV_VERSION for $key: cached wheel, not rebuilt" >&2
  echo "$wheel"
  exit 0
fi

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/build-XXXXXX")
log="$CACHE/mmcv-$MMCV_VERSION-$key.log"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "ERROR: building full mmcv $MMCV_VERSION for $key failed: $1" >&2
  echo "  log: $log" >&2
  echo "  What to do: read the log's first 'error:' line. The build needs" \
    "gcc/g++ >= 10 (C++20), the Python headers (python3-dev) and about" \
    "2 GB of memory per job (MAX_JOBS=1 halves it). Without full mmcv" \
    "everything but the tracks (mmdet) part works: 'make test MMCV=lite'" \
    "installs mmcv-lite and skips only the mmdet tests." >&2
  exit 1
}
echo "mmcv $MMCV_VERSION for $key: no cached wheel in $dir; building it" \
  "from source (25-40 minutes on 2 cores; log: $log)" >&2
"$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
  "mmcv==$MMCV_VERSION" -d "$work" > "$log" 2>&1 \
  || fail "could not download the mmcv $MMCV_VERSION source distribution"
tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
src="$work/mmcv-$MMCV_VERSION"
n=$(grep -c 'c++1[47]' "$src/setup.py" || true)
[ "$n" -gt 0 ] || fail "setup.py names no -std=c++14/17 flag to raise (an unexpected mmcv source)"
sed -i 's/c++14/c++20/g; s/c++17/c++20/g' "$src/setup.py"
"$PY" -m pip install -q ninja wheel >> "$log" 2>&1 \
  || fail "could not install the build tools ninja and wheel"
start=$(date +%s)
(cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
  "$PY" -m pip wheel -v --no-deps --no-build-isolation -w "$work/out" .) \
  >> "$log" 2>&1 || fail "the compile stopped"
built=$(ls "$work"/out/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1)
[ -n "$built" ] || fail "pip wheel wrote no wheel"
mkdir -p "$dir"
mv "$built" "$dir.tmp.whl"
mv "$dir.tmp.whl" "$dir/$(basename "$built")"
echo "mmcv $MMCV_VERSION for $key: built in $(( $(date +%s) - start )) s" >&2
echo "$dir/$(basename "$built")"
