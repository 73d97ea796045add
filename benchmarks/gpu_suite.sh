#!/usr/bin/env bash
# One command for the accelerator figures of docs/benchmarks.md: the D-score
# pass's similarity step at MS1M-like size (N=1M, K=85,742, d=512, float32 /
# float16 / bfloat16, extrapolated to 5.8M elements) and DDL vs dense
# SlowFast-R50 throughput at batch; JSON in --out (sized for < 10 min on one
# H200; not yet run on a GPU).
#
#   benchmarks/gpu_suite.sh [--device cuda] [--out work_dirs/gpu_suite]
#   benchmarks/gpu_suite.sh --device cpu --tiny --out /tmp/suite  # CPU check
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

DEVICE=cuda
TINY=()
OUT=work_dirs/gpu_suite
while [[ $# -gt 0 ]]; do
    case "$1" in
        --device) DEVICE="${2:?--device needs a value}"; shift 2 ;;
        --tiny) TINY=(--tiny); shift ;;
        --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "gpu_suite.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        PYTHON="$ROOT/.venv/bin/python"
    else
        PYTHON=python3
    fi
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

echo "gpu_suite: device=$DEVICE ${TINY[*]:-} out=$OUT"
"$PYTHON" benchmarks/bench_gpu_suite.py --device "$DEVICE" "${TINY[@]}" \
    --json "$OUT/gpu_suite.json"
if [[ ${#TINY[@]} -eq 0 ]]; then
    # numerical deviation of every search dtype on the device (section 2)
    "$PYTHON" benchmarks/bench_similarity.py --device "$DEVICE" --half \
        --deviation --json "$OUT/similarity_default.json"
fi
echo "gpu_suite: wrote $OUT"
