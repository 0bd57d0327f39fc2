#!/usr/bin/env bash
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
#
# The one-call GPU check (issue 22): on one CUDA GPU, in at most 8 minutes, with no network and nothing to install,
#   a. the `cuda`-marked tests (tests/test_cuda.py),
#   b. achieved TFLOP/s of the d=768 presets against ViT-B/16 (forward + backward, bf16 autocast),
#   c. the Sudoku preset's training throughput (AdamW, batch 16 and 256),
# writing Markdown tables to $OUT/gpu-check.md (default outputs/gpu-check/), with gpu-check.json, the environment,
# the pytest log and JUnit XML, and check.log (everything printed) beside it.
#
#     PYTHONPATH=src bash benchmarks/gpu/check.sh
#     DRY_RUN=1 bash benchmarks/gpu/check.sh        # or --dry-run: CPU, tiny configs, well under a minute
#
# Environment: OUT (output folder), PYTHON (interpreter, default python, else python3), DRY_RUN=1,
# CUDA_TESTS_TIMEOUT_S (default 210), BENCHMARK_BUDGET_S (default 180; the benchmark is killed 60 s after it).
# Every step runs even when an earlier one failed; the exit status is 1 when any failed.
set -uo pipefail

REPOSITORY="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPOSITORY"
DRY_RUN="${DRY_RUN:-0}"
for argument in "$@"; do
    case "$argument" in
        --dry-run|--dry_run) DRY_RUN=1 ;;
        -h|--help) sed -n '4,16p' "$0" | cut -c3-; exit 0 ;;
        *) echo "unknown argument: $argument (only --dry-run)" >&2; exit 2 ;;
    esac
done
case "$DRY_RUN" in 1|true|yes|on) DRY_RUN=1 ;; *) DRY_RUN=0 ;; esac
export DRY_RUN

OUT_DIR="${OUT:-outputs/gpu-check}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
export PYTHONPATH="$REPOSITORY/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=false
CUDA_TESTS_TIMEOUT_S="${CUDA_TESTS_TIMEOUT_S:-210}"
BENCHMARK_BUDGET_S="${BENCHMARK_BUDGET_S:-180}"
if [ "$DRY_RUN" = 1 ]; then
    CUDA_TESTS_TIMEOUT_S=120
    BENCHMARK_BUDGET_S=40
fi

exec > >(tee "$OUT_DIR/check.log") 2>&1
START=$(date +%s)
with_timeout() {  # with_timeout SECONDS COMMAND...: the command, killed after SECONDS where coreutils' timeout exists
    local seconds="$1"
    shift
    if command -v timeout >/dev/null 2>&1; then timeout --kill-after=15 "$seconds" "$@"; else "$@"; fi
}
elapsed() { echo "$(( $(date +%s) - START )) s"; }

echo "== hyperset-hf GPU check (dry run: $DRY_RUN), output in $OUT_DIR"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified tree)')"
    echo "host: $(uname -a)"
    "$PYTHON" - <<'EOF'
import sys

import torch

print("python:", sys.version.split()[0], sys.executable)
print("torch:", torch.__version__, "cuda:", torch.version.cuda, "cudnn:", torch.backends.cudnn.version())
try:
    import transformers

    print("transformers:", transformers.__version__)
except Exception as error:  # reported, the benchmark will fail loudly
    print("transformers: NOT IMPORTABLE:", error)
try:
    import pytest

    print("pytest:", pytest.__version__)
except Exception:
    print("pytest: not installed")
print("cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    for index in range(torch.cuda.device_count()):
        properties = torch.cuda.get_device_properties(index)
        print(f"gpu {index}: {properties.name}, {properties.total_memory / 2**30:.1f} GiB, "
              f"capability {properties.major}.{properties.minor}, bf16: {torch.cuda.is_bf16_supported()}")
EOF
    if [ "$DRY_RUN" = 0 ] && command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi; fi
} 2>&1 | tee "$OUT_DIR/environment.txt"

echo
echo "== a. cuda-marked tests (tests/test_cuda.py), at most ${CUDA_TESTS_TIMEOUT_S} s  [$(elapsed)]"
TESTS_ENV=()
if [ "$DRY_RUN" = 1 ]; then TESTS_ENV=(env CUDA_VISIBLE_DEVICES=); fi  # the dry run collects and skips them
rm -f "$OUT_DIR/cuda-tests.xml"
if "$PYTHON" -c "import pytest" >/dev/null 2>&1; then
    with_timeout "$CUDA_TESTS_TIMEOUT_S" ${TESTS_ENV[@]+"${TESTS_ENV[@]}"} "$PYTHON" -m pytest -q -m cuda -p no:cacheprovider \
        --junit-xml="$OUT_DIR/cuda-tests.xml" tests/test_cuda.py 2>&1 | tee "$OUT_DIR/cuda-tests.log"
    TESTS_STATUS=${PIPESTATUS[0]}
else
    echo "pytest is not installed: the cuda tests cannot run" | tee "$OUT_DIR/cuda-tests.log"
    TESTS_STATUS=127
fi
[ "$TESTS_STATUS" = 124 ] && echo "cuda tests TIMED OUT after ${CUDA_TESTS_TIMEOUT_S} s"

echo
echo "== b + c. benchmark (benchmarks/gpu/gpu_benchmark.py), budget ${BENCHMARK_BUDGET_S} s  [$(elapsed)]"
BENCHMARK_ARGS=(--out "$OUT_DIR" --budget_s "$BENCHMARK_BUDGET_S" --cuda-tests-junit "$OUT_DIR/cuda-tests.xml"
                --cuda-tests-status "$TESTS_STATUS")
if [ "$DRY_RUN" = 1 ]; then BENCHMARK_ARGS+=(--dry-run); fi
with_timeout "$((BENCHMARK_BUDGET_S + 60))" "$PYTHON" benchmarks/gpu/gpu_benchmark.py "${BENCHMARK_ARGS[@]}"
BENCHMARK_STATUS=$?
[ "$BENCHMARK_STATUS" = 124 ] && echo "benchmark TIMED OUT; the rows it finished are in $OUT_DIR/gpu-check.md"

echo
echo "== summary  [$(elapsed)]"
echo "cuda tests: exit status $TESTS_STATUS (0 = passed; 5 = none collected)"
echo "benchmark:  exit status $BENCHMARK_STATUS"
echo "tables:     $OUT_DIR/gpu-check.md"
STATUS=0
# pytest exits 0 when every test passed or was skipped (the dry run: all skipped)
if [ "$TESTS_STATUS" != 0 ] || [ "$BENCHMARK_STATUS" != 0 ]; then STATUS=1; fi
echo "check: $([ "$STATUS" = 0 ] && echo OK || echo FAILED) in $(elapsed)"
exit "$STATUS"
