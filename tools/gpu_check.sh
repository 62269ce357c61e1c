#!/usr/bin/env bash
# The device check, run on a machine with an NVIDIA GPU and CuPy (not part of CI):
#   tools/gpu_check.sh [tests|profile|bench|all]
# 1. the `gpu` test suite (every cuda parametrisation and tests/gpu), five pytest processes at once;
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
    # One pytest per group of files, in parallel (pytest-xdist refuses this suite: some
    # parametrisation ids differ between its worker processes), each with its JUnit XML.
    P="timeout ${TEST_TIMEOUT:-300} python3 -m pytest -o addopts= -p no:cacheprovider -m gpu -q --timeout=120 --tb=short --continue-on-collection-errors ${PYTEST_ARGS:-}"
    G=tests/gpu
    $P $G/test_gpu_layers*.py --junitxml="$OUT/gpu_a.xml" >"$OUT/gpu_a.log" 2>&1 &
    $P $G/test_gpu_ops.py $G/test_gpu_optim.py $G/test_gpu_schedulers.py --junitxml="$OUT/gpu_b.xml" >"$OUT/gpu_b.log" 2>&1 &
    $P $G/test_gpu_init.py $G/test_gpu_autograd.py $G/test_gpu_tensor.py $G/test_gpu_training.py \
        $G/test_gpu_core.py $G/test_gpu_smoke.py tests/distributed tests/nn/test_data_parallel.py \
        --junitxml="$OUT/gpu_c.xml" >"$OUT/gpu_c.log" 2>&1 &
    $P tests/nn --ignore=tests/nn/test_data_parallel.py --junitxml="$OUT/gpu_d.xml" >"$OUT/gpu_d.log" 2>&1 &
    $P tests/ops tests/optim tests/autograd tests/test_*.py --junitxml="$OUT/gpu_e.xml" >"$OUT/gpu_e.log" 2>&1 &
    wait
    python3 - "$OUT" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET
total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "gpu_*.xml"))):
    for suite in ET.parse(f).getroot().iter("testsuite"):
        for k in total:
            total[k] += int(suite.get(k, 0))
        for case in suite.iter("testcase"):
            for res in case:
                if res.tag in ("failure", "error"):
                    msg = (res.get("message") or "").replace("\n", " ")[:110]
                    print("FAILED", case.get("classname"), case.get("name")[:70], "|", msg)
print("gpu suite:", total)
PY
fi
if [[ $what == profile || $what == all ]]; then
    timeout "${PROFILE_TIMEOUT:-120}" python3 tools/gpu_profile.py 2>&1 | tee "$OUT/profile.log" | head -n 70
fi
if [[ $what == bench || $what == all ]]; then
    timeout "${BENCH_TIMEOUT:-240}" python3 benchmarks/run.py --device cuda ${BENCH_ARGS:---quick} \
        --json "$OUT/bench_cuda.json" 2>&1 | tee "$OUT/bench_cuda.log" | tail -n 40
fi
