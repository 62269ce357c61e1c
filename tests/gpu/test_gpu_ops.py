"""The op checks of ``tests/ops`` that are not yet run on the GPU (lessons 01, 02 and 18).

Every ``OpSpec`` table already runs on ``cuda``: ``spec_tests`` parametrises each spec over the
``device`` fixture of ``tests/conftest.py`` (``cpu`` and ``cuda``, the latter marked ``gpu``),
and the meta-test below keeps it so.  What ``tests/ops`` checks on the CPU only -- the dtype
promotion table, the non-differentiable reduction table, gradients at kinks and with zeros,
special functions, sorting with ties and NaN, unique/bincount/histc/searchsorted, indexing
semantics, views, integer matmul, broadcasting shapes and the shape errors -- runs here on the
target and is compared with the CPU (and with PyTorch where the CPU test does).

Gaps covered here, by source test:
  test_elementwise: dtype_and_values_match_pytorch (PROMOTION), kinks_have_pytorch_gradients,
    maximum_tie_gradient_split, erf_accuracy, erfinv_inverts_erf, shape_mismatch_names_both_shapes,
    inplace_methods_update_values;
  test_reduction: values_and_dtypes_match_pytorch (CASES), named_tuples, prod_and_cumprod_gradients
    _with_zeros, zero_norm_gradients, reduction_errors;
  test_sorting: stable_sort_ties_and_nan, zero_dim_sort, unique_bincount_histc_searchsorted;
  test_indexing: getitem_semantics, basic_index_is_view, nonzero_and_where_single_arg,
    where_dtypes_and_errors;
  test_shape: views_share_memory_and_version, view_errors;
  test_linalg: matmul_errors_name_shapes, integer_matmul, einsum;
  test_conversion: cast_gradient_dtype;
  test_broadcasting_props: broadcast shapes and gradient shapes (a fixed list instead of hypothesis).
"""
from __future__ import annotations

import importlib.util
import inspect
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import edunn
from _compare import on_device
from opcheck import OpSpec, assert_close, torch

pytestmark = pytest.mark.lesson18

TESTS_DIR = Path(__file__).resolve().parent.parent


def _load(name: str, folder: str = "ops"):
    """Import ``tests/<folder>/<name>.py`` under a private name; its folder is on ``sys.path``
    meanwhile, as pytest puts it when it collects the file, for its sibling helpers
    (``linalg_inputs``, ``_torch_errors``)."""
    spec = importlib.util.spec_from_file_location(f"_gpu_suite_src_{folder}_{name}", TESTS_DIR / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    where = str(TESTS_DIR / folder)
    added = where not in sys.path
    if added:
        sys.path.insert(0, where)
    try:
        spec.loader.exec_module(module)
    finally:
        if added:
            sys.path.remove(where)
    return module


ELEMENTWISE = _load("test_elementwise")
REDUCTION = _load("test_reduction")


class Dev:
    """``edunn`` as seen by a table entry written for ``m.tensor(...)``: the creation functions
    make their tensors on ``device``; everything else is edunn's."""

    _CREATE = ("tensor", "zeros", "ones", "full", "arange", "empty", "linspace", "eye", "rand", "randn")

    def __init__(self, device: str) -> None:
        self._device = device

    def __getattr__(self, name: str):
        fn = getattr(edunn, name)
        if name in self._CREATE:
            return lambda *a, **k: fn(*a, **{"device": self._device, **k})
        return fn


def _on(t, gpu) -> bool:
    return on_device(t, gpu)


def _np(t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy())


def _same(out, ref, what: str, rtol: float = 1e-6, atol: float = 0.0) -> None:
    assert out.dtype == ref.dtype, f"{what}: dtype {out.dtype} on the device, {ref.dtype} on the CPU"
    assert tuple(out.shape) == tuple(ref.shape), f"{what}: shape"
    a, b = _np(out), _np(ref)
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=what)


# ------------------------------------------------------------------------- the meta-test
SPEC_MODULES = ["ops/test_core_ops", "ops/test_elementwise", "ops/test_reduction", "ops/test_shape",
                "ops/test_indexing", "ops/test_linalg", "ops/test_sorting", "ops/test_conversion",
                "nn/test_activations", "nn/test_linear", "nn/test_softmax", "nn/test_losses", "nn/test_distance",
                "ops/test_bessel", "ops/test_binary_extra", "ops/test_normal", "ops/test_polynomials",
                "linalg/test_decompositions", "linalg/test_linalg_norms", "linalg/test_solvers"]


def test_the_spec_module_list_is_complete():
    """Every test file that builds OpSpecs is in SPEC_MODULES."""
    users = {str(p.relative_to(TESTS_DIR).with_suffix("")).replace("\\", "/")
             for p in TESTS_DIR.glob("*/test_*.py") if "OpSpec(" in p.read_text() and p.parent.name != "gpu"}
    assert users <= set(SPEC_MODULES), f"OpSpec users missing from the sweep: {sorted(users - set(SPEC_MODULES))}"


@pytest.mark.parametrize("name", SPEC_MODULES)
def test_every_opspec_test_runs_on_every_device(name):
    """Each test over OpSpecs takes the ``device`` fixture, so the ``cuda`` run of tests/ops and
    tests/nn covers every spec; a spec table no test uses would be a gap."""
    folder, stem = name.split("/")
    module = (ELEMENTWISE if name == "ops/test_elementwise" else REDUCTION if name == "ops/test_reduction"
              else _load(stem, folder))
    spec_tests = [(n, f) for n, f in vars(module).items() if n.startswith("test_") and callable(f)
                  and "spec" in inspect.signature(f).parameters]
    assert spec_tests, f"{name}: no OpSpec tests found"
    for n, f in spec_tests:
        assert "device" in inspect.signature(f).parameters, f"{name}.{n} does not run on every device"
    tables = [v for v in vars(module).values()
              if isinstance(v, list) and v and all(isinstance(s, OpSpec) for s in v)]
    used = set()
    for _, f in spec_tests:
        for mark in getattr(f, "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0] == "spec":
                used.update(id(s) for s in mark.args[1])
    for table in tables:
        missing = [s.name for s in table if id(s) not in used]
        assert not missing, f"{name}: specs no device-parametrised test runs: {missing}"


# ---------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("name,fn", ELEMENTWISE.PROMOTION, ids=[p[0] for p in ELEMENTWISE.PROMOTION])
def test_dtype_promotion_and_values_on_the_device(name, fn, gpu):
    out, ref = fn(Dev(gpu)), fn(edunn)
    assert _on(out, gpu), f"{name}: result on {out.device}"
    _same(out, ref, name)
    if torch is not None:
        t = fn(torch)
        assert str(out.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{name}: {out.dtype} vs torch {t.dtype}"


KINKS = {
    "abs": lambda x: x.abs(), "clamp": lambda x: x.clamp(0.0, 0.5), "relu": lambda x: x.relu(),
    "sign": lambda x: x.sign(), "max_tie": lambda x: x.maximum(x.detach() * 0 + 0.5),
    "min_tie": lambda x: x.minimum(x.detach() * 0 + 0.5), "fmax_tie": lambda x: x.fmax(x.detach() * 0 + 0.5),
    "sinc": lambda x: (edunn if isinstance(x, edunn.Tensor) else torch).sinc(x), "hardtanh_edge": lambda x: x.clamp(-1.0, 1.0),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_gradients_at_kinks_on_the_device(name, gpu):
    vals = [-1.0, 0.0, 0.5, 1.0]
    a, c = edunn.tensor(vals, requires_grad=True, device=gpu), edunn.tensor(vals, requires_grad=True)
    KINKS[name](a).sum().backward()
    KINKS[name](c).sum().backward()
    assert _on(a.grad, gpu)
    _same(a.grad, c.grad, name)
    if torch is not None:
        t = torch.tensor(vals, requires_grad=True)
        KINKS[name](t).sum().backward()
        assert_close(a.grad, t.grad, what=name)


def test_maximum_tie_gradient_split_on_the_device(gpu):
    a = edunn.tensor([1.0, 2.0], requires_grad=True, device=gpu)
    b = edunn.tensor([1.0, 3.0], requires_grad=True, device=gpu)
    edunn.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0] and b.grad.tolist() == [0.5, 1.0]


def test_special_functions_on_the_device(gpu):
    xs = np.linspace(-7, 7, 2001)
    got = _np(edunn.erf(edunn.tensor(xs, device=gpu)))
    np.testing.assert_allclose(got, [math.erf(v) for v in xs], rtol=1e-13, atol=1e-300)
    got_c = _np(edunn.erfc(edunn.tensor(xs, device=gpu)))
    np.testing.assert_allclose(got_c, [math.erfc(v) for v in xs], rtol=1e-10, atol=1e-300)
    ys = np.linspace(-0.999999, 0.999999, 1001)
    back = _np(edunn.erf(edunn.erfinv(edunn.tensor(ys, device=gpu))))
    np.testing.assert_allclose(back, ys, atol=1e-14)
    edge = edunn.erfinv(edunn.tensor([-1.0, 1.0, 1.5, 0.0], dtype=edunn.float64, device=gpu)).tolist()
    assert edge[0] == -math.inf and edge[1] == math.inf and math.isnan(edge[2]) and edge[3] == 0.0
    z = np.linspace(0.1, 6, 40)
    for name, ref in [("expm1", math.expm1), ("log1p", math.log1p), ("sinc", None)]:
        out = getattr(edunn, name)(edunn.tensor(z, device=gpu))
        cpu = getattr(edunn, name)(edunn.tensor(z))
        _same(out, cpu, name, rtol=1e-12, atol=1e-14)
        if ref is not None:
            np.testing.assert_allclose(_np(out), [ref(v) for v in z], rtol=1e-12)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "==", "maximum", "atan2", "&"])
def test_shape_mismatch_names_both_shapes_on_the_device(op, gpu):
    d = edunn.int64 if op == "&" else None
    a, b = edunn.ones(2, 3, dtype=d, device=gpu), edunn.ones(4, dtype=d, device=gpu)
    fns = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b, "==": lambda: a == b,
           "maximum": lambda: edunn.maximum(a, b), "atan2": lambda: edunn.atan2(a, b), "&": lambda: a & b}
    with pytest.raises(RuntimeError, match=r"\[2, 3\].*\[4\]"):
        fns[op]()


def test_inplace_methods_on_the_device(gpu):
    x = edunn.tensor([-1.5, 0.25, 4.0], device=gpu)
    data = x._data
    x.clamp_(-1, 1)
    assert x.tolist() == [-1.0, 0.25, 1.0]
    x.abs_().sqrt_()
    np.testing.assert_allclose(_np(x), [1.0, 0.5, 1.0])
    x.mul_(edunn.tensor([2.0, 2.0, 2.0], device=gpu)).add_(1, alpha=3).div_(2)
    assert x.tolist() == [2.5, 2.0, 2.5]
    assert x._data is data and _on(x, gpu), "in-place ops write into the same device array"


# ------------------------------------------------------------------------------ reductions
@pytest.mark.parametrize("name,fn", REDUCTION.CASES, ids=[c[0] for c in REDUCTION.CASES])
def test_reduction_values_and_dtypes_on_the_device(name, fn, gpu):
    a = np.random.default_rng(3).uniform(-1, 1, (3, 4)).astype(np.float32)
    out, ref = fn(Dev(gpu), edunn.tensor(a, device=gpu)), fn(edunn, edunn.tensor(a))
    assert _on(out, gpu), f"{name}: result on {out.device}"
    _same(out, ref, name, rtol=1e-5, atol=1e-7)


def test_named_tuples_on_the_device(gpu):
    x = edunn.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]], device=gpu)
    r = x.max(1)
    assert type(r).__name__ == "max" and r.values.tolist() == [5.0, 4.0] and r.indices.tolist() == [1, 0]
    assert _on(r.values, gpu) and _on(r.indices, gpu) and r.indices.dtype == edunn.int64
    v, i = x.min(dim=1, keepdim=True)
    assert v.shape == (2, 1) and i.tolist() == [[0], [1]]
    assert x.aminmax().min.item() == 0.0 and x.aminmax().max.item() == 5.0
    assert x.median(1).indices.tolist() == [2, 2]
    assert x.cummax(1).values.tolist() == [[1.0, 5.0, 5.0], [4.0, 4.0, 4.0]]
    assert x.cummin(1).indices.tolist() == [[0, 0, 0], [0, 1, 1]]
    assert x.mode(0).values.tolist() == [1.0, 0.0, 2.0]
    assert x.max().shape == () and edunn.max(x, x * 2).tolist() == (x * 2).tolist()


PROD_DATA = [[0.0, 2.0, 3.0, 0.5], [1.0, 0.0, 0.0, 2.0], [2.0, 3.0, 0.0, 4.0], [0.0, 1.0, 2.0, 3.0]]


@pytest.mark.parametrize("which", ["prod1", "prod0", "prod", "cumprod1", "cumprod0", "logcumsumexp", "cummax"])
def test_gradients_with_zeros_and_ties_on_the_device(which, gpu):
    fn = {"prod1": lambda t: t.prod(1), "prod0": lambda t: t.prod(0), "prod": lambda t: t.prod(),
          "cumprod1": lambda t: t.cumprod(1), "cumprod0": lambda t: t.cumprod(0),
          "logcumsumexp": lambda t: t.logcumsumexp(1), "cummax": lambda t: t.cummax(0).values}[which]
    a, c = edunn.tensor(PROD_DATA, requires_grad=True, device=gpu), edunn.tensor(PROD_DATA, requires_grad=True)
    g = np.random.default_rng(0).standard_normal(tuple(fn(c).shape)).astype(np.float32)
    fn(a).backward(edunn.tensor(g, device=gpu))
    fn(c).backward(edunn.tensor(g))
    assert _on(a.grad, gpu)
    _same(a.grad, c.grad, which, rtol=1e-5, atol=1e-6)


def test_zero_norm_gradients_on_the_device(gpu):
    for p in (2, 1, 3, 0.5):
        a = edunn.zeros(3, requires_grad=True, device=gpu)
        a.norm(p).backward()
        assert _on(a.grad, gpu) and a.grad.tolist() == [0.0, 0.0, 0.0], f"p={p}"
    rows = [[float("-inf")] * 3, [0.0, 1.0, 2.0]]
    x, c = edunn.tensor(rows, requires_grad=True, device=gpu), edunn.tensor(rows, requires_grad=True)
    x.logsumexp(1).sum().backward()
    c.logsumexp(1).sum().backward()  # an all -inf row gives NaN gradients, as in PyTorch
    _same(x.grad, c.grad, "logsumexp gradient", rtol=1e-6)


def test_reduction_errors_on_the_device(gpu):
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        edunn.tensor([1, 2], device=gpu).mean()
    with pytest.raises(IndexError, match="Dimension out of range"):
        edunn.ones(2, 3, device=gpu).sum(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        edunn.ones(2, 3, device=gpu).sum((0, 0))
    with pytest.raises(RuntimeError, match=r"q values must be in the range \[0, 1\]"):
        edunn.ones(3, device=gpu).quantile(1.5)


# --------------------------------------------------------------------------------- sorting
def test_stable_sort_with_ties_and_nan_on_the_device(gpu):
    a = np.array([2.0, 1.0, 2.0, np.nan, 1.0, 2.0])
    for desc in (False, True):
        ours = edunn.tensor(a, device=gpu).sort(descending=desc, stable=True)
        cpu = edunn.tensor(a).sort(descending=desc, stable=True)
        assert _on(ours.values, gpu) and _on(ours.indices, gpu)
        _same(ours.indices, cpu.indices, f"sort indices desc={desc}")
        _same(ours.values, cpu.values, f"sort values desc={desc}")
        am = edunn.tensor(a, device=gpu).argsort(descending=desc, stable=True)
        _same(am, cpu.indices, "argsort")


def test_zero_dim_sort_on_the_device(gpu):
    x = edunn.tensor(3.0, requires_grad=True, device=gpu)
    for out in (x.sort(), x.topk(1), x.kthvalue(1)):
        assert out.values.shape == () and out.values.item() == 3.0 and out.indices.item() == 0
    x.sort().values.backward()
    assert _on(x.grad, gpu) and x.grad.item() == 1.0


def test_unique_bincount_histc_searchsorted_on_the_device(gpu):
    def both(fn):
        out, ref = fn(Dev(gpu)), fn(Dev("cpu"))
        outs = out if isinstance(out, tuple) else (out,)
        refs = ref if isinstance(ref, tuple) else (ref,)
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert _on(o, gpu)
            _same(o, r, "")

    a = [[3, 1, 3], [2, 1, 3]]
    for kw in [{}, {"return_inverse": True, "return_counts": True}, {"dim": 1, "return_inverse": True},
               {"sorted": True, "return_counts": True}]:
        both(lambda m: m.tensor(a).unique(**kw))
    both(lambda m: m.unique_consecutive(m.tensor([1, 1, 2, 2, 3, 1]), return_inverse=True, return_counts=True))
    both(lambda m: m.tensor([0, 1, 1, 4]).bincount(minlength=6))
    both(lambda m: m.tensor([0, 1, 1, 4]).bincount(m.tensor([0.5, 1.0, 2.0, 3.0])))
    x = np.random.default_rng(0).normal(size=50).astype(np.float32)
    both(lambda m: m.tensor(x).histc(7))
    both(lambda m: m.tensor(x).histc(4, -1, 1))
    seq, v = [[1.0, 3, 5, 7], [2, 4, 6, 8]], [[3.0, 6], [1, 8]]
    for right in (False, True):
        both(lambda m: m.searchsorted(m.tensor(seq), m.tensor(v), right=right))
        both(lambda m: m.searchsorted(m.tensor(seq[0]), m.tensor(v), right=right))
    both(lambda m: m.bucketize(m.tensor(v), m.tensor(seq[0])))
    if torch is not None:
        ours = edunn.tensor(a, device=gpu).unique(return_inverse=True, return_counts=True)
        ref = torch.tensor(a).unique(return_inverse=True, return_counts=True)
        for o, r in zip(ours, ref):
            assert_close(o, r)


# -------------------------------------------------------------------------------- indexing
def test_getitem_semantics_on_the_device(gpu):
    a = np.arange(60.0).reshape(3, 4, 5)
    x, c = edunn.tensor(a, device=gpu), edunn.tensor(a)
    for index in [(0,), (slice(None), 2), (Ellipsis, 1), (None, 1, None), ([0, 2], slice(1, 3), [1, 4]),
                  (1, [0, 0, 3]), (slice(None), [[0], [2]], [1, 2]), (a[:, 0, 0] > 10,),
                  (-1, slice(None, None, 2))]:
        ours = x[tuple(edunn.tensor(i, device=gpu) if isinstance(i, np.ndarray) else i for i in index)]
        ref = c[tuple(edunn.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]
        assert _on(ours, gpu)
        _same(ours, ref, str(index))
        if torch is not None:
            t = torch.tensor(a)[tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]
            assert_close(ours, t, what=str(index))
    assert x[edunn.tensor(1, device=gpu)].shape == (4, 5)
    assert x[edunn.tensor([2, 0], device=gpu)].tolist() == c[edunn.tensor([2, 0])].tolist()
    with pytest.raises(IndexError):
        x[edunn.tensor([0.5], device=gpu)]


def test_basic_index_is_a_view_on_the_device(gpu):
    x = edunn.zeros(3, 4, device=gpu)
    row = x[1]
    x[1, 2] = 5.0
    assert row[2].item() == 5.0
    assert x[[1]]._base is None
    x[:, 0] = edunn.tensor([1.0, 2.0, 3.0], device=gpu)
    x[x > 4] = -1.0
    assert x.tolist() == [[1.0, 0.0, 0.0, 0.0], [2.0, 0.0, -1.0, 0.0], [3.0, 0.0, 0.0, 0.0]]


def test_nonzero_and_where_on_the_device(gpu):
    x = edunn.tensor([[0, 1], [2, 0]], device=gpu)
    nz = x.nonzero()
    assert _on(nz, gpu) and nz.tolist() == [[0, 1], [1, 0]] and nz.dtype == edunn.int64
    r, c = x.nonzero(as_tuple=True)
    assert r.tolist() == [0, 1] and c.tolist() == [1, 0]
    assert [t.tolist() for t in edunn.where(x > 0)] == [[0, 1], [1, 0]]
    cond = edunn.tensor([True, False], device=gpu)
    w = edunn.where(cond, edunn.tensor([1, 2], device=gpu), 0.5)
    assert w.dtype == edunn.float32 and _on(w, gpu) and w.tolist() == [1.0, 0.5]
    assert edunn.where(cond, 1, 0).dtype == edunn.int64
    with pytest.raises(RuntimeError, match="boolean"):
        edunn.where(edunn.tensor([1.0, 0.0], device=gpu), 1.0, 0.0)
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        edunn.zeros(2, 2, device=gpu).gather(0, edunn.zeros(2, 2, device=gpu))


# ------------------------------------------------------------------------- shape and views
def test_views_share_memory_and_version_on_the_device(gpu):
    x = edunn.arange(6.0, device=gpu).reshape(2, 3)
    v = x.t()
    x[0, 0] = 10.0
    assert v[0, 0].item() == 10.0
    assert v._version == x._version
    w = x.view(3, 2)
    w.mul_(2)
    assert x[0, 0].item() == 20.0, "a view's in-place op writes into its base on the device"
    assert x.unsqueeze(0)._base is x._base or x.unsqueeze(0)._base is x
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 6"):
        x.view(4, -1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        edunn.zeros(2, 3, 4, device=gpu).transpose(0, 1).view(-1)


# ---------------------------------------------------------------------------------- linalg
def test_integer_matmul_and_errors_on_the_device(gpu):
    a = edunn.tensor([[1, 2], [3, 4]], device=gpu)
    p = a @ a
    assert _on(p, gpu) and p.tolist() == [[7, 10], [15, 22]] and p.dtype == edunn.int64
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        edunn.zeros(2, 3, device=gpu) @ edunn.zeros(4, 5, device=gpu)
    with pytest.raises(RuntimeError, match="same dtype"):
        edunn.zeros(2, 2, device=gpu) @ edunn.zeros(2, 2, dtype=edunn.float64, device=gpu)
    with pytest.raises(RuntimeError, match="batch2"):
        edunn.zeros(2, 3, 4, device=gpu).bmm(edunn.zeros(3, 4, 5, device=gpu))
    e = edunn.einsum("ij,jk", [edunn.ones(2, 3, device=gpu), edunn.ones(3, 4, device=gpu)])
    assert e.shape == (2, 4) and _on(e, gpu) and e.tolist() == [[3.0] * 4] * 2


def test_large_matmul_on_the_device_equals_the_cpu(gpu):
    """cuBLAS and OpenBLAS sum in different orders: float32 agrees to a few ulps of the sum."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((64, 256)).astype(np.float32), rng.standard_normal((256, 32)).astype(np.float32)
    out = edunn.tensor(a, device=gpu) @ edunn.tensor(b, device=gpu)
    np.testing.assert_allclose(_np(out), a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4)
    out64 = edunn.tensor(a, dtype=edunn.float64, device=gpu) @ edunn.tensor(b, dtype=edunn.float64, device=gpu)
    np.testing.assert_allclose(_np(out64), a.astype(np.float64) @ b.astype(np.float64), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("dst", ["float64", "float16"])
def test_cast_gradient_dtype_on_the_device(dst, gpu):
    x = edunn.tensor([1.0, 2.0, 3.0], requires_grad=True, device=gpu)
    y = x.to(getattr(edunn, dst))
    assert y.dtype == getattr(edunn, dst) and _on(y, gpu)
    (y * y).sum().backward()
    assert x.grad.dtype == edunn.float32 and _on(x.grad, gpu)
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


# ---------------------------------------------------------------------------- broadcasting
PAIRS = [((), (3,)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)), ((1,), (2, 3, 1)), ((2, 3), (2, 3)), ((3, 1, 1), (1,))]
BINARY = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
          "pow": lambda a, b: a ** b, "maximum": lambda a, b: edunn.maximum(a, b), "atan2": lambda a, b: edunn.atan2(a, b)}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("sa,sb", PAIRS, ids=[f"{a}x{b}" for a, b in PAIRS])
def test_broadcast_shapes_and_gradients_on_the_device(sa, sb, op, gpu):
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a_np, b_np = rng.uniform(0.5, 2.0, sa).astype(np.float32), rng.uniform(0.5, 2.0, sb).astype(np.float32)
    res = {}
    for dev in ("cpu", gpu):
        a = edunn.tensor(a_np, requires_grad=True, device=dev)
        b = edunn.tensor(b_np, requires_grad=True, device=dev)
        out = BINARY[op](a, b)
        assert tuple(out.shape) == np.broadcast_shapes(sa, sb)
        out.backward(edunn.ones(out.shape, device=dev))
        assert tuple(a.grad.shape) == sa and tuple(b.grad.shape) == sb
        res[dev] = (out, a.grad, b.grad)
    for o, r in zip(res[gpu], res["cpu"]):
        assert _on(o, gpu)
        _same(o, r, op, rtol=1e-5, atol=1e-6)
