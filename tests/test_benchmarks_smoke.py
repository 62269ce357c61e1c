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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")
HAS_TORCH = importlib.util.find_spec("torch") is not None


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
