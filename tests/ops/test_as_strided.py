"""``as_strided``, ``as_strided_``, ``as_strided_scatter``, ``as_strided_copy`` and the layout a
``clone`` keeps, against PyTorch: values, strides, offsets, shared memory, gradients (also through
in-place writes), forward-mode tangents and errors."""
import pytest

import edunn
from edunn.autograd import forward_ad as fwAD

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e .[parity]")
pytestmark = pytest.mark.lesson01

# inputs cut from a 4x6 base; each lays its elements out differently over the 24 of the storage
INPUTS = {
    "contiguous": lambda b: b,
    "rows": lambda b: b[1:],
    "transposed": lambda b: b.t(),
    "every_other_column": lambda b: b[:, ::2],
    "expanded_row": lambda b: b[1].expand(3, 6),
    "laid_out_transposed": lambda b: b.t().sin(),  # not a view: new memory with a transposed layout
}
# (size, stride, storage_offset); None: the input's own offset
GEOMETRIES = {
    "rows_of_three": ((2, 3), (3, 1), None),
    "overlapping_windows": ((3, 3), (1, 1), 0),
    "repeated": ((4,), (0,), 2),
    "strided_columns": ((2, 2), (7, 1), 1),
    "empty": ((0, 3), (3, 1), None),
    "scalar": ((), (), 5),
}


def _base(m, device=None, requires_grad=False):
    b = m.arange(24, dtype=m.float64).reshape(4, 6).div(7).cos()
    if device is not None:
        b = b.to(device)
    return b.requires_grad_(requires_grad)


def _weights(m, shape, device=None):
    n = 1
    for s in shape:
        n *= s
    w = m.arange(n, dtype=m.float64).reshape(shape).mul(0.37).sin() + 1
    return w if device is None else w.to(device)


def _cpu(t):
    return t.cpu() if t.device.type != "cpu" else t


def _close(ours, theirs, **kw):
    torch.testing.assert_close(torch.from_numpy(_cpu(ours.detach()).numpy()), theirs.detach(), **kw)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("layout", INPUTS)
def test_as_strided_views_the_storage_as_torch(layout, geometry, device):
    size, stride, offset = GEOMETRIES[geometry]
    x, tx = INPUTS[layout](_base(edunn, device)), INPUTS[layout](_base(torch))
    y, ty = edunn.as_strided(x, size, stride, offset), torch.as_strided(tx, size, stride, offset)
    assert tuple(y.shape) == tuple(ty.shape) and y.stride() == ty.stride()
    if y.numel() or not y.is_cuda:  # an empty CuPy array may not keep its address (the stand-in's is 0)
        assert y.storage_offset() == ty.storage_offset()
    assert y.is_contiguous() == ty.is_contiguous()
    _close(y, ty)
    assert x.as_strided(size, stride, offset).tolist() == y.tolist()  # the method is the function


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("layout", INPUTS)
def test_as_strided_gradient_as_torch(layout, geometry, device):
    size, stride, offset = GEOMETRIES[geometry]
    grads = []
    for m, dev in ((edunn, device), (torch, None)):
        leaf = _base(m, dev, requires_grad=True)
        y = m.as_strided(INPUTS[layout](leaf), size, stride, offset)
        (y * _weights(m, size, dev)).sum().backward()
        grads.append(leaf.grad)
    _close(*grads)


def test_a_view_of_the_storage_shares_its_memory(device):
    for m, dev in ((edunn, device), (torch, None)):
        b = _base(m, dev)
        y = b[1:].as_strided((2, 2), (1, 6), 0)
        y[1, 1] = 100.0  # storage position 7: b[1, 1]
        assert b[1, 1].item() == 100.0
        b[0, 1] = -5.0
        assert y[1, 0].item() == -5.0


@pytest.mark.parametrize("case", ["contiguous", "expanded", "windows_of_a_transpose"])
def test_as_strided_gradcheck_and_gradgradcheck(case):
    x = edunn.randn(12, dtype=edunn.float64, requires_grad=True)
    f = {"contiguous": lambda x: x.as_strided((3, 2), (2, 1), 1),
         "expanded": lambda x: x[:4].expand(3, 4).as_strided((2, 3), (1, 1), 0),
         "windows_of_a_transpose": lambda x: x.reshape(3, 4).t().as_strided((3, 3), (3, 1), 2)}[case]
    assert edunn.autograd.gradcheck(f, (x,))
    assert edunn.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("layout", ["contiguous", "rows", "transposed", "laid_out_transposed"])
def test_inplace_write_through_an_as_strided_view_reaches_the_base_graph(layout, device):
    """``v = base.as_strided(...); v.mul_(w)``: the base's gradient sees the write (CopySlices),
    also where the base is laid out transposed in memory (the gradient is laid out like it)."""
    results = []
    for m, dev in ((edunn, device), (torch, None)):
        leaf = _base(m, dev, requires_grad=True)
        w = _weights(m, (2, 3), dev).requires_grad_()
        x = INPUTS[layout](leaf * 1)
        v = x.as_strided((2, 3), (1, 4), 1)
        v.mul_(w).add_(w * w)
        (x * _weights(m, tuple(x.shape), dev)).sum().backward()
        results.append((x, leaf.grad, w.grad))
    for ours, theirs in zip(*results):
        _close(ours, theirs)


def test_inplace_as_strided_makes_the_tensor_that_view(device):
    grads = []
    for m, dev in ((edunn, device), (torch, None)):
        leaf = _base(m, dev, requires_grad=True)
        y = leaf * 1
        assert y.as_strided_((3, 2), (5, 2), 1) is y
        assert tuple(y.shape) == (3, 2) and y.stride() == (5, 2)
        (y * _weights(m, (3, 2), dev)).sum().backward()
        grads.append(leaf.grad)
    _close(*grads)


def test_inplace_as_strided_on_a_leaf_that_requires_grad_is_refused_as_in_torch():
    messages = []
    for m in (edunn, torch):
        with pytest.raises(RuntimeError) as info:
            m.zeros(4, requires_grad=True).as_strided_((2,), (1,))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


SCATTER_INPUTS = ["contiguous", "rows", "transposed", "every_other_column"]


@pytest.mark.parametrize("offset", [None, 0, 3])
@pytest.mark.parametrize("layout", SCATTER_INPUTS)
def test_as_strided_scatter_as_torch(layout, offset, device):
    """A copy laid out as the input with ``src`` written where ``input.as_strided(...)`` reads
    (what falls outside the input is dropped).  PyTorch 2.13 is the reference for values and
    strides and, on a contiguous input without an offset, for ``src``'s gradient; its other
    gradients are wrong (its input gradient fails its own gradcheck; for other inputs its
    backward reads the gradient's memory as if it were the input's), so those are checked by
    finite differences below."""
    results = []
    for m, dev in ((edunn, device), (torch, None)):
        src = _weights(m, (2, 2), dev).requires_grad_()
        x = INPUTS[layout](_base(m, dev))
        y = m.as_strided_scatter(x, src * 3, (2, 2), (2, 5), offset)
        (y * _weights(m, tuple(y.shape), dev)).sum().backward()
        results.append((y, m.Tensor.as_strided_scatter(x, src, (2, 2), (2, 5), offset))
                       + ((src.grad,) if layout == "contiguous" else ()))
    assert results[0][0].stride() == results[1][0].stride()
    for ours, theirs in zip(*results):
        _close(ours, theirs)


@pytest.mark.parametrize("layout", SCATTER_INPUTS)
def test_as_strided_scatter_gradients_by_finite_differences(layout):
    leaf = _base(edunn, requires_grad=True)
    src = _weights(edunn, (2, 2)).requires_grad_()

    def f(leaf, src):
        return edunn.as_strided_scatter(INPUTS[layout](leaf), src, (2, 2), (2, 5), 1)
    assert edunn.autograd.gradcheck(f, (leaf, src))
    assert edunn.autograd.gradgradcheck(f, (leaf, src))


def test_as_strided_scatter_refuses_a_source_of_another_shape_as_torch():
    messages = []
    for m in (edunn, torch):
        with pytest.raises(RuntimeError) as info:
            m.as_strided_scatter(m.zeros(6), m.ones(3), (2,), (1,))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_as_strided_copy_is_contiguous_new_memory(device):
    b = _base(edunn, device)
    y = edunn.as_strided_copy(b, (3, 2), (1, 3), 2)
    ty = torch.as_strided_copy(_base(torch), (3, 2), (1, 3), 2)
    _close(y, ty)
    assert y.is_contiguous() and y.stride() == ty.stride()
    y[0, 0] = 42.0
    assert b.reshape(-1)[2].item() != 42.0
    out = edunn.empty(0, dtype=edunn.float64, device=device)
    assert edunn.as_strided_copy(b, (3, 2), (1, 3), 2, out=out) is out
    _close(out, ty)


def test_forward_mode_tangent_of_as_strided_as_torch():
    tangents = []
    for m, fw in ((edunn, fwAD), (torch, torch.autograd.forward_ad)):
        x, t = _base(m), _weights(m, (4, 6))
        with fw.dual_level():
            dual = fw.make_dual(x, t)
            y = m.as_strided(dual[1:], (3, 3), (1, 2), 7)
            tangents.append(fw.unpack_dual(y).tangent)
    _close(*tangents)


def test_complex_as_strided_and_its_gradient_as_torch():
    results = []
    for m in (edunn, torch):
        re = _base(m)
        z = m.complex(re, re.flip(0)).requires_grad_()
        y = z.t().as_strided((3, 4), (2, 3), 1)
        (y * m.complex(_weights(m, (3, 4)), _weights(m, (3, 4)).neg())).sum().abs().backward()
        results.append((y, z.grad))
    for ours, theirs in zip(*results):
        _close(ours, theirs)


ERRORS = {
    "negative_stride": ((2,), (-1,), None),
    "out_of_bounds": ((20, 2), (1, 1), None),
    "length_mismatch": ((2, 3), (1,), None),
    "negative_offset": ((2,), (1,), -1),
    "negative_size": ((-2,), (1,), None),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_geometries_raise_torchs_errors(case):
    messages = []
    for m in (edunn, torch):
        with pytest.raises(RuntimeError) as info:
            m.as_strided(m.zeros(3, 4), *ERRORS[case])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_writing_into_a_view_with_a_zero_stride_is_refused_as_in_torch(device):
    messages = []
    for m, dev in ((edunn, device), (torch, None)):
        b = _base(m, dev)
        with pytest.raises(RuntimeError) as info:
            b.as_strided((3,), (0,)).add_(1)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


CLONES = {
    "contiguous": lambda b: b,
    "transposed": lambda b: b.t(),
    "every_other_column": lambda b: b[:, ::2],
    "every_other_row_of_a_transpose": lambda b: b.t()[::2],
    "expanded": lambda b: b[:1].expand(3, 6),
    "permuted_3d": lambda b: b.reshape(2, 3, 4).permute(2, 0, 1),
}


@pytest.mark.parametrize("view", CLONES)
def test_clone_keeps_the_layout_as_torch(view, device):
    x, tx = CLONES[view](_base(edunn, device)), CLONES[view](_base(torch))
    assert x.clone().stride() == tx.clone().stride()
    assert edunn.clone(x).stride() == torch.clone(tx).stride()
    c = x.clone(memory_format=edunn.contiguous_format)
    assert c.stride() == tx.clone(memory_format=torch.contiguous_format).stride() and c.is_contiguous()
    _close(x.clone(), tx)
