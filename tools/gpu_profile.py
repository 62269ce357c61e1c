"""Where a training step's time goes on the GPU, for edunn and PyTorch (device check helper).

    python tools/gpu_profile.py [cnn_step|mlp_large_step|...]

For each phase of the benchmark workload (forward, backward, optimizer step) it times each
framework with a device synchronisation around the phase, then profiles edunn's whole step with
cProfile (host time by function: Python overhead, kernel launches and host-device syncs show up
there).  Not a test; run by tools/gpu_check.sh on a machine with a GPU."""
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import edunn  # noqa: E402
import workloads  # noqa: E402


def phases_cnn(fw, x, y, params, opt):
    F = fw.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    yield "zero_grad"
    opt.zero_grad()
    yield "conv1+relu+pool"
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
    yield "conv2+relu+pool"
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
    yield "linear+cross_entropy"
    loss = F.cross_entropy(F.linear(h.flatten(1), w3, b3), y)
    yield "backward"
    loss.backward()
    yield "optimizer"
    opt.step()
    yield None


def sync(fw):
    (edunn.cuda.synchronize if fw is edunn else torch.cuda.synchronize)()


def timed_phases(fw, args, reps=20):
    totals = {}
    for rep in range(reps + 3):
        gen = phases_cnn(fw, *args)
        name = next(gen)
        while name is not None:
            sync(fw)
            t0 = time.perf_counter()
            nxt = next(gen)
            sync(fw)
            if rep >= 3:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0
            name = nxt
    return {k: v / reps * 1e3 for k, v in totals.items()}


def main():
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    results = {}
    # torch without CUDA (a CPU build, or the CuPy stand-in of tests/fake_cupy): edunn alone
    for fw in (edunn, torch) if torch.cuda.is_available() else (edunn,):
        rng = np.random.default_rng(0)
        args = workloads._cnn_inputs(fw, rng, "cuda")
        results[fw.__name__] = timed_phases(fw, args)
    print(f"{'cnn_step phase (ms, synced)':32s} {'edunn':>8s} {'torch':>8s} {'ratio':>6s}")
    for k in results["edunn"]:
        e, t = results["edunn"][k], results.get("torch", {}).get(k)
        print(f"{k:32s} {e:8.3f} " + ("       -      -" if t is None else f"{t:8.3f} {e / t:6.2f}"))
    rng = np.random.default_rng(0)
    args = workloads._cnn_inputs(edunn, rng, "cuda")
    for _ in range(3):
        workloads.cnn_step(edunn, *args)
    edunn.cuda.synchronize()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(20):
        workloads.cnn_step(edunn, *args)
    edunn.cuda.synchronize()
    prof.disable()
    print(f"unsynced host loop: {(time.perf_counter() - t0) / 20 * 1e3:.3f} ms/step (under cProfile)")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
