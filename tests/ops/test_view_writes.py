"""Writing through a view reaches its base exactly as in PyTorch (lesson 01).

Every function PyTorch documents as returning a view ("Tensor Views") is written through with
an in-place op, and the base and the view must hold PyTorch's values afterwards; functions that
return a new tensor (``diag`` of a matrix, ``narrow_copy``) must not change the base.  NumPy hands
out some views read-only (``diagonal``) and builds others as copies (``take`` for ``unfold``), so
each one is checked here rather than assumed.
"""
import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01

VIEWS = {
    "slice": lambda m, x: x[1:, ::2], "select": lambda m, x: x.select(1, -1), "diagonal": lambda m, x: x.diagonal(),
    "diagonal_offset": lambda m, x: x.diagonal(1), "diagonal_below": lambda m, x: m.diagonal(x, -1),
    "t": lambda m, x: x.t(), "T": lambda m, x: x.T, "mT": lambda m, x: x.mT, "adjoint": lambda m, x: x.adjoint(),
    "movedim": lambda m, x: x.movedim(0, 1), "narrow": lambda m, x: x.narrow(1, 1, 2),
    "permute": lambda m, x: x.permute(1, 0), "squeeze": lambda m, x: x[None].squeeze(0),
    "unsqueeze": lambda m, x: x.unsqueeze(0), "transpose": lambda m, x: x.transpose(0, 1),
    "swapaxes": lambda m, x: x.swapaxes(0, 1), "view": lambda m, x: x.view(2, 6),
    "view_dtype": lambda m, x: x.view(m.int32), "unflatten": lambda m, x: x.unflatten(1, (2, 2)),
    "unfold": lambda m, x: x.unfold(1, 2, 2), "unfold_rows": lambda m, x: x.unfold(0, 1, 2),
    "unfold_gappy": lambda m, x: x.unfold(1, 1, 3), "unbind": lambda m, x: x.unbind(0)[1],
    "split": lambda m, x: x.split(2, 1)[1], "split_with_sizes": lambda m, x: x.split_with_sizes([1, 3], 1)[1],
    "tensor_split": lambda m, x: x.tensor_split(2, 1)[0], "chunk": lambda m, x: x.chunk(2, 1)[1],
    "hsplit": lambda m, x: x.hsplit(2)[1], "vsplit": lambda m, x: x.vsplit(3)[1],
    "reshape": lambda m, x: x.reshape(4, 3), "flatten": lambda m, x: x.flatten(), "ravel": lambda m, x: x.ravel(),
    "contiguous": lambda m, x: x.contiguous(), "detach": lambda m, x: x.detach(),
    "as_strided": lambda m, x: x.as_strided((2, 2), (4, 1), 1), "view_as": lambda m, x: x.view_as(x),
    # new tensors: the base must stay as it was
    "diag": lambda m, x: m.diag(x), "narrow_copy": lambda m, x: x.narrow_copy(1, 1, 2),
    "diagonal_copy": lambda m, x: m.diagonal_copy(x), "unfold_copy": lambda m, x: m.unfold_copy(x, 1, 2, 2),
}


def _written(m, name):
    x = m.arange(12, dtype=m.float32).reshape(3, 4)
    v = VIEWS[name](m, x)
    v.add_(1)
    return x.tolist(), v.tolist(), v.stride()


@pytest.mark.parametrize("name", VIEWS)
def test_a_write_through_a_view_reaches_the_base_as_in_pytorch(name):
    assert _written(edunn, name) == _written(torch, name)


@pytest.mark.parametrize("name", ["diagonal", "diagonal_offset", "unfold", "unfold_rows"])
def test_a_view_of_a_read_only_base_stays_read_only(name):
    """A tensor over a read-only NumPy array (``from_numpy`` of one) makes read-only views, and a
    write is refused with a message that says so (PyTorch only warns that writes are undefined)."""
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    a.flags.writeable = False
    x = edunn.from_numpy(a)
    with pytest.raises(RuntimeError, match="read-only tensor"):
        VIEWS[name](edunn, x).add_(1)
    assert a.tolist() == np.arange(12, dtype=np.float32).reshape(3, 4).tolist()


@pytest.mark.parametrize("make", [lambda t: t.diagonal(), lambda t: t.diagonal(-1),
                                  lambda t: t.unfold(1, 2, 2), lambda t: t.unfold(0, 2, 1)[:1]],
                         ids=["diagonal", "diagonal_below", "unfold", "unfold_overlapping_windows"])
def test_gradients_through_a_write_into_a_view_match_pytorch(make):
    grads = []
    for m in (edunn, torch):
        x = m.tensor(np.linspace(-1, 2, 12).reshape(3, 4), dtype=m.float64, requires_grad=True)
        h = x * 1
        v = make(h)
        c = m.tensor(np.linspace(0.5, 2, v.numel()).reshape(tuple(v.shape)), dtype=m.float64, requires_grad=True)
        v.mul_(c)
        (h * h).sum().backward()
        grads.append((x.grad.tolist(), c.grad.tolist(), h.tolist()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_unfold_shares_memory_and_strides_with_its_base():
    for m in (edunn, torch):
        x = m.arange(24.0).reshape(2, 12)
        w = x.unfold(1, 4, 3)
        assert w.stride() == (12, 3, 1) and w.storage_offset() == 0
        assert w.data_ptr() == x.data_ptr()
