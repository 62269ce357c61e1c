"""Benchmark edunn against PyTorch on the same workloads, on the CPU or a CUDA GPU, in one run.

    python benchmarks/run.py [--device cpu|cuda|cuda:N|auto] [--quick] [--json out.json]
                             [--only NAME[,NAME...]] [--profile NAME]

For every workload in ``workloads.py`` the two frameworks run interleaved (edunn, torch, torch,
edunn, ... so drift in clock or load hits both alike), after a warmup, and the report gives
each framework's median time and the ratio of medians, edunn / torch.  On the CPU both frameworks
run on ONE thread (``torch.set_num_threads(1)``; NumPy's BLAS pinned with ``threadpoolctl``), so
the ratio measures the frameworks and not the core count.  On ``cuda`` edunn runs through CuPy and
PyTorch on its CUDA backend, on the same GPU, and each repetition is timed between two device
synchronisations (a GPU runs asynchronously: without them the clock would only measure how fast
Python queues kernels).  This is a script, not a test: nothing here asserts a timing
(``tests/test_benchmarks_smoke.py`` only checks that it runs).
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
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

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


def gpu_info(device: str) -> dict:
    """The GPU that ``device`` names, and the CUDA stacks of both frameworks on it."""
    info: dict = {"name": edunn.cuda.get_device_name(device)}
    cupy = getattr(edunn.backend, "cupy", None)   # backend.py is the one place that imports CuPy
    if cupy is not None:
        info["cupy"] = cupy.__version__
        try:
            info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
            info["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        except Exception as exc:   # a report field, not worth failing the run over
            info["cuda_runtime"] = f"? ({type(exc).__name__})"
    # TF32 (10-bit mantissa matmuls on tensor cores) would make a float32 comparison unequal:
    # CuPy uses it only when CUPY_TF32=1; PyTorch's matmuls default to IEEE float32, and its
    # cuDNN convolutions and RNNs, which default to TF32, are switched to IEEE in main().
    info["cupy_tf32"] = os.environ.get("CUPY_TF32", "0") not in ("", "0")
    if torch is not None and torch.cuda.is_available():
        info["torch_cuda"] = torch.version.cuda
        info["torch_cudnn"] = torch.backends.cudnn.version()
        info["torch_gpu"] = torch.cuda.get_device_name(device)
        try:
            info["torch_tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
            info["torch_tf32_cudnn"] = bool(torch.backends.cudnn.allow_tf32)
        except RuntimeError as exc:   # torch >= 2.9 refuses to read a mix of old and new flags
            info["torch_tf32"] = f"? ({exc})"[:120]
    return info


def environment(device: str) -> dict:
    return {
        "device": device,
        "gpu": gpu_info(device) if device != "cpu" else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "edunn": getattr(edunn, "__version__", "?"),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "threads": 1 if device == "cpu" else None,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "blas": blas_info(),
        "reexec_removed": os.environ.get("EDUNN_BENCH_REEXEC") or None,
    }


def print_header(env: dict, torch_ok: bool) -> None:
    if env["device"] == "cpu":
        print("edunn vs PyTorch CPU benchmark (one thread each; ratio = edunn median / torch median)")
    else:
        print(f"edunn (CuPy) vs PyTorch CUDA benchmark on {env['device']} (ratio = edunn median / "
              "torch median; each repetition timed between device synchronisations)")
    print(f"  Python {env['python']}  numpy {env['numpy']}  "
          f"torch {env['torch'] or 'NOT INSTALLED'}  edunn {env['edunn']}")
    gpu = env["gpu"]
    if gpu:
        print(f"  GPU: {gpu['name']}  CuPy {gpu.get('cupy', '?')}  CUDA runtime "
              f"{gpu.get('cuda_runtime', '?')} driver {gpu.get('cuda_driver', '?')}  "
              f"torch CUDA {gpu.get('torch_cuda', '-')} cuDNN {gpu.get('torch_cudnn', '-')}")
        tf32 = ("TF32 off in both (IEEE float32)"
                if not gpu["cupy_tf32"] and not gpu.get("torch_tf32_matmul")
                and not gpu.get("torch_tf32_cudnn") else
                f"TF32: CuPy {gpu['cupy_tf32']}, torch matmul {gpu.get('torch_tf32_matmul')}, "
                f"torch cuDNN {gpu.get('torch_tf32_cudnn', gpu.get('torch_tf32'))}")
        print(f"  {tf32}")
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
    elif not torch_ok:
        print(f"  PyTorch {env['torch']} has no CUDA here (torch.cuda.is_available() is False): "
              "reporting edunn's absolute times only.")
    print()


# --- measuring ------------------------------------------------------------------------------------

def _to_numpy(t) -> np.ndarray:
    if t is None:
        raise RuntimeError("the workload returned None (no gradient was computed?)")
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def torch_usable(device: str) -> bool:
    """PyTorch is installed and can run on ``device``."""
    return torch is not None and (device == "cpu" or torch.cuda.is_available())


def synchronizer(name: str, device: str):
    """``sync()`` for framework ``name`` on ``device``: waits until every kernel queued on the GPU
    has finished (nothing to wait for on the CPU)."""
    if device == "cpu":
        return lambda: None
    if name == "edunn":
        return lambda: edunn.cuda.synchronize(device)
    return lambda: torch.cuda.synchronize(device)


def _time_once(fn, args, sync_all, sync) -> float:
    gc.collect()   # start each repetition from the same garbage state
    sync_all()     # the other framework's kernels must not run into this one's time
    t0 = time.perf_counter()
    fn(*args)
    sync()         # a GPU step has only been queued when fn returns: wait for it to finish
    return time.perf_counter() - t0


# On a GPU the first calls compile CuPy's kernels (and load cuBLAS/cuDNN): at least this many
# untimed calls per framework, the first of them the result check.  Three cover the first
# optimizer step, which creates the state, and the second, the first to update it.
CUDA_WARMUP = 4


def measure(w: workloads.Workload, quick: bool, device: str = "cpu", seed: int = 0) -> dict:
    """Warm up, check both frameworks agree, then time them interleaved on ``device``."""
    target = w.target_for(device)
    result: dict = {"name": w.name, "description": w.description, "target": target,
                    "device": device}
    if not w.runs_on(device):
        result["skipped"] = w.skip_note or f"does not run on {device}"
        return result
    frameworks = {"edunn": edunn}
    if torch_usable(device):
        frameworks["torch"] = torch
    sync = {name: synchronizer(name, device) for name in frameworks}

    def sync_all():
        for s in sync.values():
            s()
    # setup builds everything (inputs, model, optimizer) on the device, outside the timing
    args = {name: w.setup(fw, np.random.default_rng(seed), device)
            for name, fw in frameworks.items()}
    step = {name: (lambda *a, _fw=fw: w.run(_fw, *a)) for name, fw in frameworks.items()}

    # the result check (also the first warmup call): the one place data comes back to the host
    outputs = {name: _to_numpy(step[name](*args[name])) for name in frameworks}
    if "torch" in frameworks:
        a, b = outputs["edunn"], outputs["torch"]
        scale = max(float(np.abs(b).max()), 1e-12)
        result["max_rel_diff"] = float(np.abs(a - b).max()) / scale if a.shape == b.shape \
            else float("inf")
        result["same_result"] = bool(a.shape == b.shape and result["max_rel_diff"] <= w.rtol)
    warmup = w.warmup if device == "cpu" else max(w.warmup, CUDA_WARMUP)
    for _ in range(warmup - 1):
        for name in frameworks:
            step[name](*args[name])
    sync_all()

    repeats = w.quick_repeats if quick else w.repeats
    times: dict[str, list[float]] = {name: [] for name in frameworks}
    order = list(frameworks)
    for i in range(repeats):
        for name in (order if i % 2 == 0 else order[::-1]):
            times[name].append(_time_once(step[name], args[name], sync_all, sync[name]))

    result["repeats"] = repeats
    result["warmup"] = warmup
    for name in frameworks:
        result[f"{name}_median_s"] = statistics.median(times[name])
        result[f"{name}_times_s"] = times[name]
    if "torch" in frameworks:
        result["ratio"] = result["edunn_median_s"] / result["torch_median_s"]
        if target is not None:
            result["status"] = "PASS" if result["ratio"] <= target else "MISS"
    return result


def profile(name: str, repeats: int, device: str = "cpu") -> None:
    """cProfile edunn on one workload: where does the time go?"""
    import cProfile
    import pstats
    w = workloads.REGISTRY[name]
    sync = synchronizer("edunn", device)
    args = w.setup(edunn, np.random.default_rng(0), device)
    for _ in range(1 if device == "cpu" else CUDA_WARMUP):
        w.run(edunn, *args)
    sync()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        w.run(edunn, *args)
    sync()   # on a GPU, the time still queued shows up here, in the synchronize call
    prof.disable()
    print(f"cProfile of edunn on {name!r} on {device}, {repeats} repetitions:")
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
        if "skipped" in r:
            rows.append([r["name"], "skipped", "-", "-", "-", "-", "-"])
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
            if r.get("where"):
                print(f"      at {r['where']}")
        if "skipped" in r:
            print(f"    skipped on {r['device']}: {r['skipped']}")


def resolve_device(arg: str, parser: argparse.ArgumentParser) -> str:
    """``--device``: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (cuda when edunn sees a GPU).
    Asking for CUDA without it ends the run with a usage error, not a traceback."""
    arg = arg.strip().lower()
    if arg == "auto":
        return "cuda" if edunn.cuda.is_available() else "cpu"
    if arg == "cpu":
        return arg
    if arg == "cuda" or (arg.startswith("cuda:") and arg[5:].isdigit()):
        if not edunn.cuda.is_available():
            parser.error(f"--device {arg}: CUDA is not available (edunn.cuda.is_available() is "
                         "False: CuPy is not installed or sees no GPU). Install edunn[gpu] on a "
                         "machine with an NVIDIA GPU, or run with --device cpu.")
        if ":" in arg and int(arg[5:]) >= edunn.cuda.device_count():
            parser.error(f"--device {arg}: there are only {edunn.cuda.device_count()} CUDA "
                         "device(s)")
        return arg
    parser.error(f"--device: expected cpu, cuda, cuda:N or auto, got {arg!r}")


def prepare_frameworks(device: str):
    """Thread settings and numerics for the run; returns the context to run it in."""
    if device == "cpu":
        if torch is not None:
            torch.set_num_threads(1)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:   # only allowed before any inter-op work; harmless to skip
                pass
        return threadpool_limits(limits=1)
    # CUDA: the work is on the GPU, the host threads are left alone.  "cuda:N" makes N the
    # current device of both (plain "cuda" means the current one already).
    if ":" in device:
        edunn.cuda.set_device(device)
        if torch_usable(device):
            torch.cuda.set_device(device)
    if torch_usable(device):
        # cuDNN convolutions and RNNs default to TF32 on Ampere and later; CuPy computes in IEEE
        # float32 (unless CUPY_TF32=1), so do the same in torch: same arithmetic, same results.
        # The legacy flag sets both at once, and every torch version understands it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.backends.cudnn.allow_tf32 = False
    return contextlib.nullcontext()


def _release_device_memory(device: str) -> None:
    """Between workloads: hand cached GPU memory back, so one workload's pool does not crowd
    the next (outside any timing)."""
    if device == "cpu":
        return
    gc.collect()
    edunn.cuda.empty_cache()
    if torch_usable(device):
        torch.cuda.empty_cache()


def _where(tb: str) -> str:
    """The innermost ``File ..., line ..., in ...`` of a formatted traceback."""
    frames = [line.strip() for line in tb.splitlines() if line.strip().startswith("File ")]
    return frames[-1] if frames else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), cuda, cuda:N, or auto (cuda when "
                             "edunn.cuda.is_available(), else cpu)")
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
    if args.profile and args.profile not in workloads.REGISTRY:
        parser.error(f"unknown workload {args.profile!r}")
    device = resolve_device(args.device, parser)

    with prepare_frameworks(device):
        env = environment(device)
        if args.profile:
            if not workloads.REGISTRY[args.profile].runs_on(device):
                parser.error(f"{args.profile} does not run on {device}: "
                             f"{workloads.REGISTRY[args.profile].skip_note}")
            profile(args.profile, 3 if args.quick else 10, device)
            return 0
        print_header(env, torch_usable(device))
        results = []
        started = time.perf_counter()
        for name in names:
            w = workloads.REGISTRY[name]
            t0 = time.perf_counter()
            try:
                results.append(measure(w, args.quick, device))
            except Exception as exc:   # report and go on with the other workloads
                tb = traceback.format_exc()
                results.append({"name": name, "description": w.description,
                                "target": w.target_for(device), "device": device,
                                "error": f"{type(exc).__name__}: {exc}", "where": _where(tb),
                                "traceback": tb})
            _release_device_memory(device)
            status = ("ERROR" if "error" in results[-1] else
                      "skipped" if "skipped" in results[-1] else "done")
            print(f"  {name}: {status} in {time.perf_counter() - t0:.1f} s", flush=True)
        print(f"  all workloads: {time.perf_counter() - started:.1f} s\n")
        print_table(results)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "environment": env, "quick": args.quick,
                       "results": results}, f, indent=2)
        print(f"\nwrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
