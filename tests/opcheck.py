"""A declarative op-test harness (tinygrad's ``helper_test_op`` + Chainer's ``FunctionTestCase``).

Describe an op once with :class:`OpSpec`; :func:`check_spec` then

* runs it forward on random inputs and compares the values with PyTorch CPU (when torch is
  installed), on every device,
* runs backward with a random output gradient and compares each input gradient with PyTorch's,
* runs ``edunn.autograd.gradcheck`` in float64 (finite differences) -- independent of PyTorch,
* optionally checks the second derivative with ``gradgradcheck``.

A test file lists its specs and lets :func:`spec_tests` write the two tests over them::

    SPECS = [OpSpec("exp", lambda x: x.exp(), lambda x: x.exp(), [(3, 4)]), ...]

    test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)

pytest collects them under those names, one test per spec and device (``test_parity[cpu-exp]``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import edunn

try:
    import torch
except ImportError:  # parity tests are skipped, gradcheck still runs
    torch = None

NEEDS_TORCH = "PyTorch is not installed: pip install -e .[parity] to run the parity checks"
needs_torch = pytest.mark.skipif(torch is None, reason=NEEDS_TORCH)


@dataclass
class OpSpec:
    name: str
    fn: Callable                         # edunn: fn(*tensors) -> Tensor or tuple of tensors
    torch_fn: Callable | None            # the same with torch tensors, None when PyTorch has no twin
    shapes: Sequence[tuple]              # shapes of the float inputs, in order
    low: float = -2.0                    # inputs are uniform in [low, high] ...
    high: float = 2.0
    make_inputs: Callable | None = None  # ... unless this makes them: (rng) -> list of numpy arrays
    grad: bool = True                    # is the op differentiable in its float inputs?
    grad_inputs: Sequence[int] | None = None  # which inputs require grad (default: every float one)
    gradgrad: bool = False               # also check the second derivative
    atol: float = 1e-5
    rtol: float = 1e-4
    dtype: str = "float32"               # dtype of float inputs for the parity check
    lesson: int = 1
    extra: dict = field(default_factory=dict)


def spec_id(spec: OpSpec) -> str:
    return spec.name


def _inputs(spec: OpSpec, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    if spec.make_inputs is not None:
        return [np.asarray(a) for a in spec.make_inputs(rng)]
    return [rng.uniform(spec.low, spec.high, size=s) for s in spec.shapes]


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def _grad_mask(spec: OpSpec, arrays: list) -> list:
    if not spec.grad:
        return [False] * len(arrays)
    if spec.grad_inputs is not None:
        return [i in spec.grad_inputs for i in range(len(arrays))]
    return [_is_float(a) for a in arrays]


def _edunn_inputs(arrays: list, mask: list, dtype: str, device: str) -> list:
    out = []
    for a, m in zip(arrays, mask):
        if _is_float(a):
            t = edunn.tensor(a.astype(dtype), device=device)
        else:
            t = edunn.tensor(a, device=device)
        out.append(t.requires_grad_() if m else t)
    return out


def _torch_inputs(arrays: list, mask: list, dtype: str) -> list:
    out = []
    for a, m in zip(arrays, mask):
        t = torch.tensor(a.astype(dtype)) if _is_float(a) else torch.tensor(a)
        out.append(t.requires_grad_() if m else t)
    return out


def bfloat16_refused_on_cuda(device: str, *dtypes: Any) -> bool:
    """edunn keeps bfloat16 off CUDA (CuPy 14's bfloat16 is partial).  True, after checking that
    refusal, when ``device`` is cuda and one of ``dtypes`` is bfloat16: the caller skips that case."""
    if device != "cuda" or not any(str(d).split(".")[-1] == "bfloat16" for d in dtypes):
        return False
    with pytest.raises(TypeError, match="bfloat16 tensors cannot live on CUDA"):
        edunn.zeros(1, device=device).to(edunn.bfloat16)
    return True


def to_numpy(t: Any) -> np.ndarray:
    if isinstance(t, edunn.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
    return np.asarray(t)


def assert_close(actual: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4, what: str = "") -> None:
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if e.dtype == np.bool_ or e.dtype.kind in "iu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), atol=atol, rtol=rtol, err_msg=what)


def check_parity(spec: OpSpec, device: str = "cpu") -> None:
    """Forward values, output dtypes and input gradients equal PyTorch CPU's."""
    if spec.torch_fn is None:
        pytest.skip(f"{spec.name}: PyTorch has no direct counterpart")
    if torch is None:
        pytest.skip(NEEDS_TORCH)
    arrays = _inputs(spec)
    mask = _grad_mask(spec, arrays)
    ours = _edunn_inputs(arrays, mask, spec.dtype, device)
    theirs = _torch_inputs(arrays, mask, spec.dtype)
    out = _as_tuple(spec.fn(*ours))
    ref = _as_tuple(spec.torch_fn(*theirs))
    assert len(out) == len(ref), f"{spec.name}: {len(out)} outputs, PyTorch gives {len(ref)}"
    for k, (o, r) in enumerate(zip(out, ref)):
        if isinstance(r, torch.Tensor):
            assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], \
                f"{spec.name} output {k}: dtype {o.dtype}, PyTorch gives {r.dtype}"
        assert_close(o, r, spec.atol, spec.rtol, f"{spec.name} output {k}")
    if not any(mask):
        return
    rng = np.random.default_rng(1)
    diff = [(o, r) for o, r in zip(out, ref) if isinstance(r, torch.Tensor) and r.requires_grad]
    gouts = [rng.standard_normal(tuple(r.shape)).astype(spec.dtype) for _, r in diff]
    torch.autograd.backward([r for _, r in diff], [torch.tensor(g) for g in gouts])
    edunn.autograd.backward([o for o, _ in diff], [edunn.tensor(g, device=device) for g in gouts])
    for i, (t_ours, t_ref) in enumerate(zip(ours, theirs)):
        if mask[i]:
            assert t_ours.grad is not None or t_ref.grad is None, f"{spec.name}: no gradient for input {i}"
            if t_ref.grad is not None:
                assert_close(t_ours.grad, t_ref.grad, spec.atol * 10, spec.rtol * 10, f"{spec.name} grad of input {i}")


def check_gradcheck(spec: OpSpec, device: str = "cpu") -> None:
    """Finite differences in float64 agree with backward (and with double backward if asked)."""
    if not spec.grad:
        pytest.skip(f"{spec.name} is not differentiable")
    arrays = _inputs(spec, seed=2)
    mask = _grad_mask(spec, arrays)
    ours = _edunn_inputs(arrays, mask, "float64", device)
    assert edunn.autograd.gradcheck(spec.fn, ours, eps=1e-6, atol=1e-5, rtol=1e-3)
    if spec.gradgrad:
        assert edunn.autograd.gradgradcheck(spec.fn, ours, eps=1e-6, atol=1e-4, rtol=1e-3)


def check_spec(spec: OpSpec, device: str = "cpu") -> None:
    """Every check that applies: parity (values and gradients) and gradcheck."""
    if spec.torch_fn is not None and torch is not None:
        check_parity(spec, device)
    if spec.grad:
        check_gradcheck(spec, device)


def _lesson_mark(lesson: int) -> pytest.MarkDecorator:
    return getattr(pytest.mark, f"lesson{lesson:02d}")


def spec_test(check: Callable, specs: Sequence[OpSpec], lesson: int) -> Callable:
    """A test running ``check`` (:func:`check_parity` or :func:`check_gradcheck`) on each spec
    and device, marked with its lesson; pytest names it after the variable it is assigned to."""
    @_lesson_mark(lesson)
    @pytest.mark.parametrize("spec", specs, ids=spec_id)
    def test(spec, device):
        check(spec, device)
    return test


def spec_tests(specs: Sequence[OpSpec], lesson: int, gradcheck: Sequence[OpSpec] | None = None) -> tuple:
    """``test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)``: parity on every spec,
    gradcheck on ``gradcheck`` (default: every spec)."""
    return (spec_test(check_parity, specs, lesson),
            spec_test(check_gradcheck, specs if gradcheck is None else gradcheck, lesson))
