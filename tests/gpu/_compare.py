"""Shared helpers of the GPU layer suite: run one computation on the CPU and on the target device
and compare everything it produces.

:func:`check_module` builds a module on the CPU, deep-copies it to the target with ``.to(device)``,
feeds both copies the same inputs and compares, within a tolerance set by the dtype,

* every output (values, dtype, shape, and that it lives on the target device),
* the gradient of every input that requires one and of every parameter (sparse gradients densified,
  after checking that the device's is sparse too),
* every parameter and buffer after the steps (running statistics, ``max_norm`` renormalisation),
* optionally the outputs in eval mode after the training steps.

Inputs are described device-free: a numpy float array becomes a tensor that requires grad, a numpy
integer/bool array a plain tensor, :class:`Const` a float tensor without grad, anything else is
passed as it is.  The backward pass contracts each float output with the same random cotangent on
both devices.  Errors are reported as the maximum absolute error and the error relative to the
reference's scale, so a failure says how far off the device was.

``dtype=float16`` compares the device in half precision with the CPU in float32 on the same
(half-rounded) weights and inputs: the CPU is the exact reference, the tolerance is half's.

``EDUNN_GPU_SUITE_REPORT=1`` (with ``pytest -s``) prints every comparison's error as a fraction of
its tolerance, to see the margins.
"""
from __future__ import annotations

import copy
import os
from typing import Any, Callable, Sequence

import numpy as np

import pytest

import edunn

#: print each comparison's error as a fraction of its tolerance (to see the margins)
REPORT = os.environ.get("EDUNN_GPU_SUITE_REPORT") == "1"

#: relative tolerances (relative to max(|reference|, 1) per compared tensor), by dtype
TOL = {edunn.float32: 1e-5, edunn.float64: 1e-10, edunn.float16: 1e-2}


class Const:
    """A float input that does not require grad (a target, a mask of weights ...)."""

    def __init__(self, array: Any) -> None:
        self.array = np.asarray(array)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def randn(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return rng(seed).standard_normal(shape) * scale


# --------------------------------------------------------------------------------- conversion
def _np_dtype(dtype: Any) -> Any:
    return np.float32 if dtype is edunn.float16 else dtype.np


def _round(a: np.ndarray, dtype: Any) -> np.ndarray:
    """``a`` as the device will see it: half-rounded when the run is in float16."""
    if dtype is edunn.float16:
        return a.astype(np.float16).astype(np.float32)
    return a.astype(dtype.np)


def make_inputs(spec: Sequence[Any], device: str, dtype: Any, grad: bool, ref: bool) -> list:
    """The edunn values of an input description on ``device``; ``ref`` is the CPU reference run
    (float32 when the device runs in float16)."""
    out = []
    for item in spec:
        if isinstance(item, Const):
            a = _round(item.array, dtype)
            out.append(edunn.tensor(a if ref or dtype is not edunn.float16 else a.astype(np.float16),
                                    device=device))
        elif isinstance(item, np.ndarray) and item.dtype.kind == "f":
            a = _round(item, dtype)
            if not ref and dtype is edunn.float16:
                a = a.astype(np.float16)
            out.append(edunn.tensor(a, device=device, requires_grad=grad))
        elif isinstance(item, np.ndarray):
            out.append(edunn.tensor(item, device=device))
        else:
            out.append(item)
    return out


def flatten(obj: Any, name: str = "out") -> list:
    """``[(name, tensor)]`` for every tensor in a (nested) output: tuples, named tuples (a
    PackedSequence, an ``_ASMoutput``), lists and dicts."""
    if isinstance(obj, edunn.Tensor):
        return [(name, obj)]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return [p for f in obj._fields for p in flatten(getattr(obj, f), f"{name}.{f}")]
    if isinstance(obj, (tuple, list)):
        return [p for i, o in enumerate(obj) for p in flatten(o, f"{name}[{i}]")]
    if isinstance(obj, dict):
        return [p for k, o in obj.items() for p in flatten(o, f"{name}[{k!r}]")]
    return []


def host(t: edunn.Tensor) -> np.ndarray:
    if t.is_sparse:
        t = t.to_dense()
    return t.detach().cpu().numpy()


# --------------------------------------------------------------------------------- comparison
def max_error(ref: np.ndarray, got: np.ndarray) -> tuple:
    """(max |got - ref|, that error relative to max(|ref|, 1))."""
    ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
    if ref64.size == 0:
        return 0.0, 0.0
    both_inf = np.isinf(ref64) & (ref64 == got64)
    both_nan = np.isnan(ref64) & np.isnan(got64)
    diff = np.where(both_inf | both_nan, 0.0, np.abs(got64 - ref64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    finite = ref64[np.isfinite(ref64)]
    scale = max(float(np.abs(finite).max()) if finite.size else 0.0, 1.0)
    err = float(diff.max())
    return err, err / scale


def full_name(device: str) -> str:
    """``device`` with its index, as tensors print it ("cuda" -> "cuda:0" while 0 is current)."""
    return str(edunn.backend.as_device(device))


def on_device(t: Any, device: str) -> bool:
    """Whether tensor ``t`` lives on ``device`` ("cuda": any CUDA device; "cuda:1": that one)."""
    try:
        want = edunn.device(device)
    except RuntimeError:  # not a device name at all
        return False
    return t.device.type == want.type and (want.index is None or t.device.index == want.index)


def assert_same(what: str, ref: edunn.Tensor, got: edunn.Tensor, device: str, dtype: Any,
                tol: float, check_device: bool = True) -> None:
    """``got`` (on ``device``) equals ``ref`` (on the CPU) within ``tol`` relative to the scale."""
    if check_device:
        assert on_device(got, device), f"{what}: on {got.device}, expected on {device}"
    assert tuple(got.shape) == tuple(ref.shape), f"{what}: shape {tuple(got.shape)} != CPU's {tuple(ref.shape)}"
    expect = ref.dtype
    if dtype is edunn.float16 and ref.dtype is edunn.float32:
        expect = edunn.float16
    assert got.dtype == expect, f"{what}: dtype {got.dtype}, expected {expect}"
    assert got.is_sparse == ref.is_sparse, f"{what}: sparse {got.is_sparse}, CPU's sparse {ref.is_sparse}"
    r, g = host(ref), host(got)
    if r.dtype.kind not in "fc":
        bad = np.argwhere(r != g)
        assert bad.size == 0, f"{what}: {len(bad)} of {r.size} entries differ from CPU's, first at {bad[0].tolist()}"
        return
    err, rel = max_error(r, g)
    if REPORT:
        print(f"[{rel / tol:.3f} of tol] {what}")
    assert rel <= tol, f"{what}: max abs error {err:.3g}, relative to scale {rel:.3g} > tol {tol:g}"


def assert_close_arrays(what: str, ref: Any, got: Any, tol: float) -> None:
    err, rel = max_error(np.asarray(ref), np.asarray(got))
    assert rel <= tol, f"{what}: max abs error {err:.3g}, relative to scale {rel:.3g} > tol {tol:g}"


# --------------------------------------------------------------------------------- running
def _cotangents(outs: list, dtype: Any, seed: int = 1234) -> list:
    r = rng(seed)
    return [_round(r.standard_normal(tuple(t.shape)), dtype) if t.requires_grad else None
            for _, t in outs]


def _backward(outs: list, cots: list, device: str) -> None:
    total = None
    for (_, t), c in zip(outs, cots):
        if c is None:
            continue
        ct = edunn.tensor(c, device=device)
        # a half output is contracted in float32: its gradient is the half-rounded cotangent
        term = ((t.float() if t.dtype is edunn.float16 else t) * ct).sum()
        total = term if total is None else total + term
    if total is not None:
        total.backward()


def _run(mod: Any, spec: Sequence[Any], device: str, dtype: Any, grad: bool, ref: bool,
         call: Callable, steps: int) -> tuple:
    cots = None
    for _ in range(steps):
        inputs = make_inputs(spec, device, dtype, grad, ref)
        outs = flatten(call(mod, *inputs))
        if grad:
            if cots is None:
                cots = _cotangents(outs, dtype)
            _backward(outs, cots, device)
    return inputs, outs


def check_module(make: Callable[[], Any], spec: Sequence[Any], device: str, *,
                 dtype: Any = edunn.float32, grad: bool = True, call: Callable | None = None,
                 steps: int = 1, eval_after: bool = False, train: bool = True,
                 tol_scale: float = 1.0) -> Any:
    """Build ``make()`` on the CPU, copy it to ``device``, run ``call(module, *inputs)`` (default
    ``module(*inputs)``) ``steps`` times with backward on both, and compare outputs, input
    gradients, parameter gradients, parameters and buffers.  Returns the device module."""
    call = call or (lambda m, *xs: m(*xs))
    edunn.manual_seed(0)
    cpu = make()
    cpu.train(train)
    if dtype is edunn.float64:
        cpu.to(edunn.float64)
    elif dtype is edunn.float16:
        cpu.to(edunn.float16).to(edunn.float32)  # the weights the half device will hold, exactly
    dev = copy.deepcopy(cpu).to(device, dtype=edunn.float16) if dtype is edunn.float16 \
        else copy.deepcopy(cpu).to(device)
    tol = TOL[dtype] * tol_scale
    ins_c, outs_c = _run(cpu, spec, "cpu", dtype, grad, True, call, steps)
    ins_d, outs_d = _run(dev, spec, device, dtype, grad, False, call, steps)
    assert [n for n, _ in outs_c] == [n for n, _ in outs_d], "the outputs differ in structure"
    for (name, r), (_, g) in zip(outs_c, outs_d):
        assert_same(name, r, g, device, dtype, tol, check_device=not name.endswith("batch_sizes"))
    for i, (a, b) in enumerate(zip(ins_c, ins_d)):
        if isinstance(a, edunn.Tensor) and a.requires_grad:
            assert (a.grad is None) == (b.grad is None), f"input {i}: grad presence differs"
            if a.grad is not None:
                assert_same(f"grad of input {i}", a.grad, b.grad, device, dtype, tol)
    params_d = dict(dev.named_parameters())
    for name, p in cpu.named_parameters():
        q = params_d[name]
        assert_same(f"parameter {name}", p, q, device, dtype, tol)
        if grad:
            assert (p.grad is None) == (q.grad is None), f"grad of {name}: presence differs"
            if p.grad is not None:
                assert_same(f"grad of {name}", p.grad, q.grad, device, dtype, tol)
    bufs_d = dict(dev.named_buffers())
    for name, b in cpu.named_buffers():
        if b is not None:
            assert_same(f"buffer {name}", b, bufs_d[name], device, dtype, tol)
    if eval_after:
        cpu.eval()
        dev.eval()
        with edunn.no_grad():
            oc = flatten(call(cpu, *make_inputs(spec, "cpu", dtype, False, True)))
            od = flatten(call(dev, *make_inputs(spec, device, dtype, False, False)))
        for (name, r), (_, g) in zip(oc, od):
            assert_same(f"eval {name}", r, g, device, dtype, tol)
    return dev


def check_function(fn: Callable, spec: Sequence[Any], device: str, **kw: Any) -> None:
    """:func:`check_module` for a stateless function ``fn(*inputs)``."""
    check_module(lambda: _FnModule(fn), spec, device, **kw)


class _FnModule(edunn.nn.Module):
    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs)


def dtype_tests(cases: Sequence, f64: Sequence[str], f16: Sequence[str],
                wrap: Callable = lambda make: make) -> tuple:
    """The float64 and float16 variants of a layer table's ``test_layer_matches_cpu``: the cases
    named in ``f64``/``f16`` (by id) re-run in that dtype; ``wrap(make)`` may adjust the layer."""
    by_id = {p.id: p for p in cases}

    @pytest.mark.parametrize("name", f64)
    def test_layer_matches_cpu_float64(gpu, name):
        make, spec, kw = by_id[name].values
        check_module(wrap(make), spec, gpu, dtype=edunn.float64, **kw)

    @pytest.mark.parametrize("name", f16)
    def test_layer_matches_cpu_float16(gpu, name):
        make, spec, kw = by_id[name].values
        check_module(wrap(make), spec, gpu, dtype=edunn.float16, **kw)
    return test_layer_matches_cpu_float64, test_layer_matches_cpu_float16
