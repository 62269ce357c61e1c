"""Small behaviours compared with torch: hardshrink's signed zeros, addmv's dtype check,
inference tensors (is_inference, the saved-for-backward error, views), Tensor.grad_dtype,
linear/matmul on inf/NaN without NumPy warnings, nn.functional's grid-sample constants,
autograd.NestedIOFunction, and the import paths of the split checkpoint/flex_attention."""
import warnings

import numpy as np
import pytest

import edunn
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [needs_torch]


def test_hardshrink_gives_positive_zero(device):
    data = [-0.3, 0.2, -1.0, 0.0, -0.0, 0.5, -0.5, float("inf"), float("nan")]
    e = edunn.nn.functional.hardshrink(edunn.tensor(data, device=device))
    t = torch.nn.functional.hardshrink(torch.tensor(data))
    np.testing.assert_array_equal(np.signbit(e.cpu().numpy()), t.signbit().numpy())
    np.testing.assert_array_equal(e.cpu().numpy(), t.numpy())
    x = edunn.tensor([-0.3, 0.7, -2.0], dtype=edunn.float64, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda x: edunn.nn.functional.hardshrink(x), (x,))


@pytest.mark.parametrize("dtypes", [("float32", "float64", "float64"), ("float32", "float32", "float64"),
                                    ("float64", "float32", "float32")])
def test_addmv_rejects_mixed_dtypes(dtypes):
    ti, tm, tv = (torch.ones(s, dtype=getattr(torch, d)) for s, d in zip([(3,), (3, 2), (2,)], dtypes))
    ei, em, ev = (edunn.ones(s, dtype=getattr(edunn, d)) for s, d in zip([(3,), (3, 2), (2,)], dtypes))
    for call in (lambda m, i, a, v: i.clone().addmv_(a, v), lambda m, i, a, v: m.addmv(i, a, v)):
        with pytest.raises(RuntimeError) as te:
            call(torch, ti, tm, tv)
        with pytest.raises(RuntimeError, match=str(te.value)):
            call(edunn, ei, em, ev)
    assert_close(edunn.ones(3).addmv_(edunn.ones(3, 2), edunn.ones(2), beta=2),
                 torch.ones(3).addmv_(torch.ones(3, 2), torch.ones(2), beta=2))


def test_inference_tensors_as_torch():
    def made(m):
        x = m.ones(3)
        with m.inference_mode():
            new = [m.ones(3), x * 2, m.tensor([1.0, 2.0, 3.0]), x.sum(0), m.sort(x)[0]]
            view_of_normal = x[1:]
            view_of_inference = new[1][1:]
            new[1].add_(1)  # in place inside inference mode: allowed
        with m.inference_mode(False):
            not_inside = x * 2
        return [x, *new, view_of_normal, view_of_inference, not_inside]
    assert [t.is_inference() for t in made(edunn)] == [t.is_inference() for t in made(torch)]
    assert edunn.is_inference(made(edunn)[1])


def test_inference_tensor_cannot_be_saved_for_backward():
    with edunn.inference_mode():
        e = edunn.ones(3) * 2
    with torch.inference_mode():
        t = torch.ones(3) * 2
    w, tw = edunn.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as te:
        t * tw  # MulBackward0 saves both operands
    with pytest.raises(RuntimeError, match=r"Inference tensors cannot be saved for backward\."):
        e * w
    assert "Inference tensors cannot be saved for backward" in str(te.value)
    # not saved, or not recorded: fine in both
    assert_close((e + w).detach(), (t + tw).detach())
    with edunn.no_grad():
        assert not (e * w).is_inference()
    c = e.clone()
    assert not c.is_inference()
    (c * w).sum().backward()
    assert_close(w.grad, [2.0, 2.0, 2.0])


def test_grad_dtype():
    for m in (edunn, torch):
        x = m.ones(3, requires_grad=True)
        assert x.grad_dtype == m.float32
        x.grad_dtype = m.float64
        assert x.grad_dtype == m.float64
        (x * 2).sum().backward()
        assert x.grad.dtype == m.float64
        (x * 2).sum().backward()  # accumulates in float64
        assert x.grad.dtype == m.float64 and x.grad.tolist() == [4.0, 4.0, 4.0]
        z = m.ones(3, requires_grad=True)
        z.grad_dtype = None
        assert z.grad_dtype is None
        z.grad = m.ones(3, dtype=m.float64)  # any dtype allowed
        h = m.ones(3, dtype=m.float16, requires_grad=True)
        assert h.grad_dtype == m.float16
    messages = []
    for m in (edunn, torch):
        out = []
        for bad in [lambda: setattr(m.ones(3, requires_grad=True) * 2, "grad_dtype", m.float64),
                    lambda: (m.ones(3, requires_grad=True) * 2).grad_dtype,
                    lambda: setattr(m.ones(3, requires_grad=True), "grad", m.ones(3, dtype=m.float64)),
                    lambda: _set_after_grad(m)]:
            with pytest.raises(RuntimeError) as info:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    bad()
            out.append(str(info.value))
        messages.append(out)
    assert messages[0] == messages[1]


def _set_after_grad(m):
    y = m.ones(3, requires_grad=True)
    (y * 2).sum().backward()
    y.grad_dtype = m.float64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_and_matmul_on_inf_nan_are_silent(dtype):
    a = np.random.default_rng(0).standard_normal((16, 8))
    a[0, 0], a[1, 1], a[2, 2] = np.inf, np.nan, -np.inf
    w = np.random.default_rng(1).standard_normal((4, 8))
    e, ew = edunn.tensor(a, dtype=getattr(edunn, dtype)), edunn.tensor(w, dtype=getattr(edunn, dtype))
    t, tw = torch.tensor(a, dtype=getattr(torch, dtype)), torch.tensor(w, dtype=getattr(torch, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ey = edunn.nn.functional.linear(e, ew, edunn.ones(4, dtype=ew.dtype))
        em = edunn.matmul(e, ew.t())
    assert_close(ey, torch.nn.functional.linear(t, tw, torch.ones(4, dtype=tw.dtype)), rtol=1e-4)
    assert_close(em, t @ tw.t(), rtol=1e-4)


def test_grid_sample_constants():
    assert edunn.nn.functional.GRID_SAMPLE_INTERPOLATION_MODES == torch.nn.functional.GRID_SAMPLE_INTERPOLATION_MODES
    assert edunn.nn.functional.GRID_SAMPLE_PADDING_MODES == torch.nn.functional.GRID_SAMPLE_PADDING_MODES


def test_nested_io_function():
    class Both(edunn.autograd.NestedIOFunction):
        def forward_extended(self, x, y):
            self.save_for_backward(x, (y,))
            return x * y, x + y

        def backward_extended(self, g_prod, g_sum):
            x, (y,) = self.saved_tensors
            return g_prod * y + g_sum, g_prod * x + g_sum

    assert issubclass(edunn.autograd.NestedIOFunction, edunn.autograd.Function)
    assert issubclass(torch.autograd.NestedIOFunction, torch.autograd.Function)
    x = edunn.tensor([1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    y = edunn.tensor([3.0, 4.0], dtype=edunn.float64, requires_grad=True)
    prod, total = Both.apply(x, y)
    assert prod.grad_fn.name() == "BothBackward"
    assert edunn.autograd.gradcheck(lambda x, y: Both.apply(x, y), (x, y))
    with pytest.raises(NotImplementedError):
        edunn.autograd.NestedIOFunction.apply(x)


def test_split_modules_keep_their_import_paths():
    from edunn.nn.attention import flex_attention as fa
    from edunn.utils import checkpoint as cp
    for module, names in [(fa, ["BlockMask", "_dense_to_ordered", "_ordered_to_dense", "noop_mask",
                                "create_block_mask", "flex_attention"]),
                          (cp, ["CheckpointError", "GraphExecGroup", "noop_context_fn", "checkpoint",
                                "set_checkpoint_debug_enabled", "set_checkpoint_early_stop",
                                "_checkpoint_without_reentrant_generator"])]:
        assert all(hasattr(module, n) for n in names)
    assert fa.BlockMask.__module__ == "edunn.nn.attention.flex_attention"
    mask = fa.create_block_mask(lambda b, h, q, kv: q >= kv, None, None, 256, 256, device="cpu")
    assert isinstance(mask, fa.BlockMask) and mask.shape == (1, 1, 256, 256)
