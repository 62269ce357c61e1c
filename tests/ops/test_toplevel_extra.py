"""The top-level in-place functions (``torch.abs_`` ...), the ``*_copy`` view copies and the
split variants, compared with PyTorch: values, dtypes, in-place identity, gradients, errors,
and each signature against torch's native schema."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import edunn
from edunn.ops import inplace_toplevel
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch


def _schema_params(name: str) -> list:
    """(name, keyword_only, has_default) of the first native overload of ``aten::name``, with
    ``self`` spelled ``input`` as torch's Python binding does and ``out`` left out."""
    schemas = [s for s in torch._C._jit_get_schemas_for_operator("aten::" + name)
               if not s.overload_name.endswith("out")]
    params = []
    for a in schemas[0].arguments:
        params.append(("input" if a.name == "self" else a.name, a.kwarg_only, a.default_value is not None
                       or a.has_default_value()))
    return params


@pytest.mark.parametrize("name", inplace_toplevel.__all__)
def test_inplace_signature_matches_native_schema(name):
    ours = [(p.name, p.kind == p.KEYWORD_ONLY, p.default is not p.empty)
            for p in inspect.signature(getattr(edunn, name)).parameters.values()]
    theirs = _schema_params(name)
    if name == "round_":  # two overloads: round_(self) and round_(self, *, int decimals)
        theirs = [("input", False, False), ("decimals", True, True)]
    assert ours == theirs


_POSITIVE = {"acosh", "arccosh"}
_UNIT = {"acos", "arccos", "asin", "arcsin", "atanh", "arctanh", "logit"}


def _values(name):
    rng = np.random.default_rng(0)
    if name in _POSITIVE:
        return rng.uniform(1.1, 3, (3, 4))
    if name in _UNIT:
        return rng.uniform(0.05, 0.9, (3, 4))
    if name in {"log", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "log1p"}:
        return rng.uniform(0.2, 3, (3, 4))
    return rng.uniform(-2.5, 2.5, (3, 4))


_ARGS = {"clamp_": ((-0.5, 1.0), {}), "clip_": ((), {"max": 0.3}), "clamp_min_": ((0.2,), {}),
         "clamp_max_": ((0.2,), {}), "round_": ((), {"decimals": 1}), "logit_": ((), {"eps": 0.1}),
         "xlogy_": ((2.0,), {}), "nan_to_num_": ((), {"posinf": 7.0})}


@pytest.mark.parametrize("name", [n for n in inplace_toplevel.__all__
                                  if n not in {"gcd_", "lcm_", "ldexp_", "addmv_", "index_put_"}])
def test_inplace_values_match_torch(name, device):
    a = _values(name[:-1])
    args, kwargs = _ARGS.get(name, ((), {}))
    x = edunn.tensor(a, dtype=edunn.float64, device=device)
    tx = torch.tensor(a, dtype=torch.float64)
    r = getattr(edunn, name)(x, *args, **kwargs)
    getattr(torch, name)(tx, *args, **kwargs)
    assert r is x
    assert r.dtype == edunn.float64
    assert_close(x, tx, atol=1e-10, rtol=1e-10)


def test_inplace_binary_and_matrix_forms():
    a = np.array([[4, 6, 9], [10, 15, 21]])
    b = np.array([6, 4, 3])
    x, tx = edunn.tensor(a), torch.tensor(a)
    edunn.gcd_(x, edunn.tensor(b)), torch.gcd_(tx, torch.tensor(b))
    assert_close(x, tx)
    x, tx = edunn.tensor(a), torch.tensor(a)
    edunn.lcm_(x, edunn.tensor(b)), torch.lcm_(tx, torch.tensor(b))
    assert_close(x, tx)
    y, ty = edunn.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    edunn.ldexp_(y, edunn.tensor([2, 3])), torch.ldexp_(ty, torch.tensor([2, 3]))
    assert_close(y, ty)
    m, v = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.array([1.0, -1.0, 2.0], dtype=np.float32)
    y, ty = edunn.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    edunn.addmv_(y, edunn.tensor(m), edunn.tensor(v), beta=2, alpha=0.5)
    torch.addmv_(ty, torch.tensor(m), torch.tensor(v), beta=2, alpha=0.5)
    assert_close(y, ty)
    z, tz = edunn.zeros(4), torch.zeros(4)
    edunn.index_put_(z, (edunn.tensor([1, 1, 3]),), edunn.tensor([1.0, 2.0, 3.0]), accumulate=True)
    torch.index_put_(tz, (torch.tensor([1, 1, 3]),), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert_close(z, tz)


def test_inplace_gradient_and_errors():
    a = edunn.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = a * 1.0
    edunn.exp_(b)
    b.sum().backward()
    assert_close(a.grad, np.exp([0.5, -1.0, 2.0]))
    with pytest.raises(RuntimeError, match="leaf"):
        edunn.exp_(a)
    with pytest.raises(RuntimeError, match="can't be cast"):
        edunn.sqrt_(edunn.tensor([1, 4]))
    with pytest.raises(TypeError, match="must be Tensor"):
        edunn.abs_([1.0])
    with pytest.raises(TypeError):
        edunn.clamp_min_(edunn.ones(2))


# ---- signatures of the other new top-level names --------------------------------------------
# names torch documents with a signature line are checked by tests/test_signatures.py's reader;
# the undocumented builtins are checked against every native overload: each of its arguments is
# accepted by edunn under that name (or, where overloads share a slot, ALTERNATIVES' name), with
# the same keyword-only marker.
ALTERNATIVES = {("view_copy", "dtype"): "size"}
# pybind functions with neither a signature nor a schema; called positionally like torch in
# tests/ops/test_runtime_queries.py::test_anomaly_switch
NO_SIGNATURE = {"set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"}


def _new_names():
    import importlib
    names = []
    for m in ("view_copies", "numerical", "runtime_queries", "linalg_extra", "interop", "sampling", "lowrank",
              "strided"):
        names += importlib.import_module(f"edunn.ops.{m}").__all__
    return names + ["nonzero_static", "empty_permuted", "resize_as_"]


@pytest.mark.parametrize("name", [n for n in _new_names() if n not in NO_SIGNATURE])
def test_new_names_take_torchs_arguments(name):
    import warnings
    from test_signatures import mismatches, torch_signatures
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overloads = torch_signatures(name, getattr(torch, name), name)
    if overloads:
        assert mismatches(getattr(edunn, name), overloads) == []
        return
    ours = {p.name: p.kind == p.KEYWORD_ONLY for p in inspect.signature(getattr(edunn, name)).parameters.values()}
    schemas = torch._C._jit_get_schemas_for_operator("aten::" + name)
    assert schemas, f"torch.{name} has neither a documented signature nor a native schema"
    for schema in schemas:
        for a in schema.arguments:
            arg = "input" if a.name == "self" else a.name
            arg = ALTERNATIVES.get((name, arg), arg)
            assert arg in ours, f"{schema}: edunn.{name} lacks {arg!r}"
            assert ours[arg] == a.kwarg_only, f"{schema}: {arg!r} keyword-only differs"


@pytest.mark.parametrize("size", [0, 2, 3, 5])
@pytest.mark.parametrize("shape", [(4,), (2, 3), ()])
def test_nonzero_static_pads_or_cuts_as_torch(shape, size, device):
    values = np.array([0.0, 1.5, 0.0, -2.0, 3.0, 0.0])[:int(np.prod(shape))].reshape(shape) if shape else np.array(7.0)
    ours = edunn.nonzero_static(edunn.tensor(values, device=device), size=size, fill_value=-9)
    theirs = torch.nonzero_static(torch.tensor(values), size=size, fill_value=-9)
    assert ours.dtype == edunn.int64 and ours.cpu().tolist() == theirs.tolist()
    assert tuple(ours.shape) == tuple(theirs.shape)


@pytest.mark.parametrize("layout", [(0, 1, 2), (2, 0, 1), (1, 2, 0), (2, 1, 0)])
def test_empty_permuted_lays_dims_out_as_torch(layout, device):
    ours = edunn.empty_permuted((2, 3, 4), layout, dtype=edunn.float64, device=device, requires_grad=True)
    theirs = torch.empty_permuted((2, 3, 4), layout, dtype=torch.float64, requires_grad=True)
    assert tuple(ours.shape) == (2, 3, 4) and ours.stride() == theirs.stride()
    assert ours._base is None and ours.requires_grad and ours.is_leaf and ours.device.type == device


def test_empty_permuted_and_nonzero_static_errors_as_torch():
    for call in (lambda m: m.empty_permuted((2, 3), (0, 0)), lambda m: m.empty_permuted((2, 3), (0,)),
                 lambda m: m.nonzero_static(m.ones(2), size=-1)):
        messages = []
        for m in (edunn, torch):
            with pytest.raises(RuntimeError) as info:
                call(m)
            messages.append(str(info.value))
        assert messages[0] == messages[1]


def test_resize_as_at_the_top_level():
    for m in (edunn, torch):
        x = m.arange(6.0)
        assert m.resize_as_(x, m.zeros(2, 2)) is x and x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            m.resize_as_(m.zeros(3, requires_grad=True), m.zeros(2))

