#!/usr/bin/env bash
# The device check, run on a machine with an NVIDIA GPU and CuPy (not part of CI):
#   tools/gpu_check.sh [tests|profile|bench|all]
# 1. the `gpu` test suite (every cuda parametrisation and tests/gpu), in parallel workers;
# 2. where the CNN step's time goes (tools/gpu_profile.py);
# 3. the benchmark on cuda against PyTorch CUDA (benchmarks/run.py --device cuda).
# Logs and a JUnit XML land in $OUT (default /tmp/gpu_check).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONHASHSEED=0 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
what=${1:-all}
nvidia-smi -L
python3 -c "import cupy, numpy, torch, edunn; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__, 'edunn sees cuda:', edunn.cuda.is_available(), edunn.cuda.device_count())"
if [[ $what == tests || $what == all ]]; then
    timeout "${TEST_TIMEOUT:-300}" python3 -m pytest -o addopts="" -p no:cacheprovider -m gpu tests \
        -q -n "${WORKERS:-8}" --timeout=120 --tb=line -rf --continue-on-collection-errors \
        --junitxml="$OUT/gpu_tests.xml" ${PYTEST_ARGS:-} >"$OUT/gpu_tests.log" 2>&1
    echo "pytest exit: $?"
    grep -E "^(FAILED|ERROR)" "$OUT/gpu_tests.log" | cut -c1-220 | head -n "${SHOW:-80}"
    tail -n 3 "$OUT/gpu_tests.log"
fi
if [[ $what == profile || $what == all ]]; then
    timeout "${PROFILE_TIMEOUT:-120}" python3 tools/gpu_profile.py 2>&1 | tee "$OUT/profile.log" | head -n 70
fi
if [[ $what == bench || $what == all ]]; then
    timeout "${BENCH_TIMEOUT:-240}" python3 benchmarks/run.py --device cuda ${BENCH_ARGS:---quick} \
        --json "$OUT/bench_cuda.json" 2>&1 | tee "$OUT/bench_cuda.log" | tail -n 40
fi
