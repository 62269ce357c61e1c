"""CUDA tensors through edunn.distributed.

``python gpu.py nccl`` -- a world of one on the "nccl" backend, met through ``env://`` (the
harness sets MASTER_ADDR/PORT, RANK=0, WORLD_SIZE=1): every collective on a CUDA tensor, DDP with
``device_ids``.  ``mpiexec -n 2 python gpu.py mpi`` -- the "mpi" backend moving CUDA tensors
through the host: all-reduce and DDP gradients equal one process on the combined batch."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import nn  # noqa: E402
from edunn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

BACKEND = sys.argv[1]
DEV = "cuda" if edunn.cuda.is_available() else "cpu"   # cpu: a dry run of the script itself
dist.init_process_group(BACKEND, timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def check_all_reduce_on_device():
    for dtype in (edunn.float32, edunn.float64, edunn.float16, edunn.int64):   # no bfloat16 in CuPy
        t = (edunn.arange(6).reshape(2, 3) * (R + 1)).to(DEV, dtype)
        dist.all_reduce(t)
        assert t.device.type == DEV and t.dtype == dtype
        close(t.cpu().float().numpy(), np.arange(6).reshape(2, 3) * sum(range(1, P + 1)), 1e-2)
    t = edunn.tensor([1.0, 3.0], device=DEV) * (R + 1)
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()
    close(t.cpu().numpy(), np.array([1.0, 3.0]) * (P + 1) / 2)
    b = edunn.tensor([True, R == 0, False], device=DEV)
    dist.all_reduce(b)
    assert b.cpu().tolist() == [True, True, False]


def check_other_collectives_on_device():
    t = edunn.tensor([float(R), 2.0], device=DEV)
    dist.broadcast(t, src=0)
    assert t.cpu().tolist() == [0.0, 2.0]
    outs = [edunn.zeros(2, device=DEV) for _ in range(P)]
    dist.all_gather(outs, edunn.ones(2, device=DEV) * R)
    assert [o.cpu().tolist() for o in outs] == [[float(r)] * 2 for r in range(P)]
    cat = edunn.zeros(2 * P, device=DEV)
    dist.all_gather_into_tensor(cat, edunn.ones(2, device=DEV) * R)
    assert cat.cpu().tolist() == sum([[float(r)] * 2 for r in range(P)], [])
    red = edunn.ones(3, device=DEV)
    dist.reduce(red, dst=0, op=dist.ReduceOp.SUM)
    assert red.cpu().tolist() == ([float(P)] * 3 if R == 0 else [1.0] * 3)
    gl = [edunn.zeros(2, device=DEV) for _ in range(P)] if R == 0 else None
    dist.gather(edunn.ones(2, device=DEV) * (R + 5), gl, dst=0)
    if R == 0:
        assert [g.cpu().tolist() for g in gl] == [[r + 5.0] * 2 for r in range(P)]
    out = edunn.zeros(2, device=DEV)
    dist.scatter(out, [edunn.ones(2, device=DEV) * (r + 1) for r in range(P)] if R == 0 else None, src=0)
    assert out.cpu().tolist() == [R + 1.0] * 2
    rs = edunn.zeros(2, device=DEV)
    dist.reduce_scatter_tensor(rs, edunn.ones(2 * P, device=DEV))
    assert rs.cpu().tolist() == [float(P)] * 2
    dist.barrier()
    objs = [None] * P
    dist.all_gather_object(objs, {"r": R})
    assert objs == [{"r": r} for r in range(P)]


def check_wrong_device_is_a_clear_error():
    if BACKEND != "nccl":
        return
    try:
        dist.all_reduce(edunn.ones(2))
    except RuntimeError as e:
        assert "CUDA tensors only" in str(e) and "cpu" in str(e), str(e)
    else:
        raise AssertionError("a CPU tensor went to NCCL")


def check_ddp_on_device_equals_one_process():
    edunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).to(DEV)
    ref = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).to(DEV)
    ref.load_state_dict(model.state_dict())
    ids = [edunn.cuda.current_device()] if DEV == "cuda" else None
    ddp = DDP(model, device_ids=ids, bucket_cap_mb=1e-4)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4 * P, 5)).astype(np.float32)
    Y = rng.normal(size=(4 * P, 2)).astype(np.float32)
    opt = edunn.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = edunn.optim.SGD(ref.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        ref_opt.zero_grad()
        xs = edunn.tensor(X[4 * R:4 * R + 4])          # on the CPU: device_ids moves it
        if ids is None:
            xs = xs.to(DEV)
        ((ddp(xs) - edunn.tensor(Y[4 * R:4 * R + 4], device=DEV)) ** 2).mean().backward()
        ((ref(edunn.tensor(X, device=DEV)) - edunn.tensor(Y, device=DEV)) ** 2).mean().backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            assert p.grad.device.type == DEV
            close(p.grad.cpu().numpy(), q.grad.cpu().numpy())
        opt.step()
        ref_opt.step()


run_checks(dict(globals()), R)
dist.destroy_process_group()
