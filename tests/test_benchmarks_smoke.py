"""Smoke test of the benchmark script: it runs and prints its ratio table.

Timings are never asserted (a timed test fails on a busy machine); ``benchmarks/run.py`` is where
the edunn/PyTorch ratios are measured and reported.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import edunn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_CUDA = edunn.cuda.is_available()


def _run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_quick_chain_prints_ratio_table(tmp_path):
    out = tmp_path / "bench.json"
    # OPENBLAS_CORETYPE set exercises the re-exec that drops it before numpy is loaded.
    env = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))
    proc = _run("--quick", "--only", "chain", "--json", str(out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    text = proc.stdout
    assert "numpy" in text and "Python" in text and "CPU:" in text
    assert re.search(r"^workload\s+edunn median\s+torch median\s+ratio\s+target\s+status",
                     text, re.M), text
    row = re.search(r"^chain\s.*$", text, re.M)
    assert row is not None, text
    if HAS_TORCH:
        assert re.search(r"\d+\.\d+x\s+<= 1\.5x\s+(PASS|MISS)\s+yes", row.group(0)), row.group(0)
    else:
        assert "not installed" in text

    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["environment"]["device"] == "cpu"
    assert "OPENBLAS_CORETYPE" in report["environment"]["reexec_removed"]
    assert "OPENBLAS_CORETYPE" not in str(report["environment"]["blas"])
    (chain,) = report["results"]
    assert chain["name"] == "chain" and chain["repeats"] >= 1
    assert chain["edunn_median_s"] > 0
    if HAS_TORCH:
        assert chain["torch_median_s"] > 0 and chain["ratio"] > 0
        assert chain["same_result"] is True


def test_unknown_workload_is_rejected():
    proc = _run("--only", "no_such_workload")
    assert proc.returncode == 2
    assert "no_such_workload" in proc.stderr and "chain" in proc.stderr


def test_large_mlp_is_skipped_on_cpu_with_a_note():
    # 0.7 TFLOP per step: a cuda-only workload says so on the CPU instead of running for minutes
    proc = _run("--quick", "--only", "mlp_large_step", "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^mlp_large_step\s+skipped", proc.stdout, re.M), proc.stdout
    assert "skipped on cpu: cuda only" in proc.stdout


@pytest.mark.skipif(HAS_CUDA, reason="checks the message given when there is no CUDA device")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_a_clear_usage_error(device):
    proc = _run("--quick", "--only", "chain", "--device", device)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "CUDA is not available" in proc.stderr and "--device cpu" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_device_auto_and_bad_device(tmp_path):
    out = tmp_path / "auto.json"
    proc = _run("--quick", "--only", "chain_fwd_nograd", "--device", "auto", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text())["device"] == ("cuda" if HAS_CUDA else "cpu")

    proc = _run("--device", "tpu")
    assert proc.returncode == 2 and "expected cpu, cuda, cuda:N or auto" in proc.stderr
