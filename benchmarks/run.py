"""Benchmark edunn against PyTorch (CPU) on the same workloads, in one run.

    python benchmarks/run.py [--quick] [--json out.json] [--only NAME[,NAME...]] [--profile NAME]

For every workload in ``workloads.py`` the two frameworks run interleaved (edunn, torch, torch,
edunn, ... so drift in CPU clock or load hits both alike), after a warmup, and the report gives
each framework's median time and the ratio of medians, edunn / torch.  Both frameworks run on ONE
thread (``torch.set_num_threads(1)``; NumPy's BLAS pinned with ``threadpoolctl``), so the ratio
measures the frameworks and not the core count.  This is a script, not a test: nothing here
asserts a timing (``tests/test_benchmarks_smoke.py`` only checks that it runs).
"""
from __future__ import annotations

import os
import sys

# Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE), which pins OpenBLAS to an older,
# slower kernel.  OpenBLAS reads them once, when NumPy loads it, so the only way out is to start
# again without them -- before anything imports numpy.
_PINNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(v in os.environ for v in _PINNING_VARS):
    _env = {k: v for k, v in os.environ.items() if k not in _PINNING_VARS}
    _env["EDUNN_BENCH_REEXEC"] = ",".join(f"{v}={os.environ[v]}" for v in _PINNING_VARS
                                          if v in os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, _env)

import argparse  # noqa: E402  (after the re-exec on purpose)
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))   # benchmark the checkout this script lives in
sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import edunn  # noqa: E402
import workloads  # noqa: E402

try:
    import torch
except ImportError:   # report edunn's absolute times only
    torch = None


# --- environment ----------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict]:
    """The BLAS/OpenMP libraries loaded in this process (NumPy's and torch's), as threadpoolctl
    sees them: which kernel (architecture), version and thread count."""
    keys = ("user_api", "internal_api", "prefix", "architecture", "version", "num_threads",
            "filepath")
    return [{k: lib.get(k) for k in keys} for lib in threadpool_info()]


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "edunn": getattr(edunn, "__version__", "?"),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "threads": 1,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "blas": blas_info(),
        "reexec_removed": os.environ.get("EDUNN_BENCH_REEXEC") or None,
    }


def print_header(env: dict) -> None:
    print("edunn vs PyTorch CPU benchmark (one thread each; ratio = edunn median / torch median)")
    print(f"  Python {env['python']}  numpy {env['numpy']}  "
          f"torch {env['torch'] or 'NOT INSTALLED'}  edunn {env['edunn']}")
    print(f"  CPU: {env['cpu']} ({env['cpu_count']} logical cores)  [{env['platform']}]")
    if env["load_average"]:
        print("  load average before the run: " + " ".join(f"{x:.2f}" for x in env["load_average"])
              + "  (other work on the machine makes timings noisy)")
    for lib in env["blas"]:
        print(f"  {lib['user_api']}: {lib['internal_api']} {lib['version']} "
              f"kernel={lib['architecture']} threads={lib['num_threads']}  "
              f"({os.path.basename(lib['filepath'] or '')})")
    if env["reexec_removed"]:
        print(f"  re-executed without {env['reexec_removed']} (it pins OpenBLAS to an old kernel)")
    if torch is None:
        print("  PyTorch is not installed: reporting edunn's absolute times only.")
    print()


# --- measuring ------------------------------------------------------------------------------------

def _to_numpy(t) -> np.ndarray:
    if t is None:
        raise RuntimeError("the workload returned None (no gradient was computed?)")
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _time_once(fn, args) -> float:
    gc.collect()   # start each repetition from the same garbage state
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def measure(w: workloads.Workload, quick: bool, seed: int = 0) -> dict:
    """Warm up, check both frameworks agree, then time them interleaved."""
    frameworks = {"edunn": edunn} if torch is None else {"edunn": edunn, "torch": torch}
    args = {name: w.setup(fw, np.random.default_rng(seed)) for name, fw in frameworks.items()}
    step = {name: (lambda *a, _fw=fw: w.run(_fw, *a)) for name, fw in frameworks.items()}
    result: dict = {"name": w.name, "description": w.description, "target": w.target}

    outputs = {name: _to_numpy(step[name](*args[name])) for name in frameworks}
    if torch is not None:
        a, b = outputs["edunn"], outputs["torch"]
        scale = max(float(np.abs(b).max()), 1e-12)
        result["max_rel_diff"] = float(np.abs(a - b).max()) / scale
        result["same_result"] = bool(a.shape == b.shape and result["max_rel_diff"] <= w.rtol)
    for _ in range(w.warmup - 1):
        for name in frameworks:
            step[name](*args[name])

    repeats = w.quick_repeats if quick else w.repeats
    times: dict[str, list[float]] = {name: [] for name in frameworks}
    order = list(frameworks)
    for i in range(repeats):
        for name in (order if i % 2 == 0 else order[::-1]):
            times[name].append(_time_once(step[name], args[name]))

    result["repeats"] = repeats
    for name in frameworks:
        result[f"{name}_median_s"] = statistics.median(times[name])
        result[f"{name}_times_s"] = times[name]
    if torch is not None:
        result["ratio"] = result["edunn_median_s"] / result["torch_median_s"]
        if w.target is not None:
            result["status"] = "PASS" if result["ratio"] <= w.target else "MISS"
    return result


def profile(name: str, repeats: int) -> None:
    """cProfile edunn on one workload: where does the time go?"""
    import cProfile
    import pstats
    w = workloads.REGISTRY[name]
    args = w.setup(edunn, np.random.default_rng(0))
    w.run(edunn, *args)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        w.run(edunn, *args)
    prof.disable()
    print(f"cProfile of edunn on {name!r}, {repeats} repetitions:")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)


# --- report ---------------------------------------------------------------------------------------

def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(results: list[dict]) -> None:
    cols = ["workload", "edunn median", "torch median", "ratio", "target", "status", "same result"]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["name"], "ERROR", "-", "-", "-", "-", "-"])
            continue
        ratio = r.get("ratio")
        same = r.get("same_result")
        rows.append([
            r["name"],
            _fmt_time(r.get("edunn_median_s")),
            _fmt_time(r.get("torch_median_s")),
            f"{ratio:.2f}x" if ratio is not None else "-",
            f"<= {r['target']:.1f}x" if r["target"] is not None else "-",
            r.get("status", "-"),
            "-" if same is None else ("yes" if same else f"NO ({r['max_rel_diff']:.1e})"),
        ])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    print()
    for r in results:
        print(f"  {r['name']}: {r['description']}"
              + (f" [{r['repeats']} repeats]" if "repeats" in r else ""))
        if "error" in r:
            print(f"    ERROR: {r['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--only", metavar="NAME", help="comma-separated workload names; "
                        f"available: {', '.join(workloads.REGISTRY)}")
    parser.add_argument("--profile", metavar="NAME",
                        help="instead of comparing, cProfile edunn on workload NAME")
    args = parser.parse_args(argv)

    names = list(workloads.REGISTRY)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in workloads.REGISTRY]
        if unknown:
            parser.error(f"unknown workload(s) {unknown}; available: {list(workloads.REGISTRY)}")

    if torch is not None:
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:   # only allowed before any inter-op work; harmless to skip
            pass
    with threadpool_limits(limits=1):
        env = environment()
        if args.profile:
            if args.profile not in workloads.REGISTRY:
                parser.error(f"unknown workload {args.profile!r}")
            profile(args.profile, 3 if args.quick else 10)
            return 0
        print_header(env)
        results = []
        for name in names:
            try:
                results.append(measure(workloads.REGISTRY[name], args.quick))
            except Exception as exc:   # report and go on with the other workloads
                w = workloads.REGISTRY[name]
                results.append({"name": name, "description": w.description, "target": w.target,
                                "error": f"{type(exc).__name__}: {exc}",
                                "traceback": traceback.format_exc()})
        print_table(results)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "quick": args.quick, "results": results}, f, indent=2)
        print(f"\nwrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
