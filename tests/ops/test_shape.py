"""Shape ops: views, permutations, expand/repeat, joining and splitting, padding."""
import numpy as np
import pytest

import edunn
from edunn.ops.padding import pad as epad
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

TF = torch.nn.functional if torch is not None else None

SPECS = [
    OpSpec("view", lambda a: a.view(3, -1), lambda a: a.view(3, -1), [(2, 3, 2)]),
    OpSpec("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [(2, 3, 2)]),
    OpSpec("unflatten", lambda a: a.unflatten(1, (2, -1)), lambda a: a.unflatten(1, (2, -1)), [(2, 6)]),
    OpSpec("contiguous", lambda a: a.t().contiguous(), lambda a: a.t().contiguous(), [(2, 3)]),
    OpSpec("clone", lambda a: a.clone() * 2, lambda a: a.clone() * 2, [(2, 3)]),
    OpSpec("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [(2, 3, 4)], gradgrad=True),
    OpSpec("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [(2, 3, 4)]),
    OpSpec("t", lambda a: a.t(), lambda a: a.t(), [(2, 3)]),
    OpSpec("movedim", lambda a: a.movedim((0, 1), (2, 0)), lambda a: a.movedim((0, 1), (2, 0)), [(2, 3, 4)]),
    OpSpec("squeeze", lambda a: a.squeeze(), lambda a: a.squeeze(), [(2, 1, 3, 1)]),
    OpSpec("squeeze_dims", lambda a: a.squeeze((1, 2)), lambda a: a.squeeze((1, 2)), [(2, 1, 3, 1)]),
    OpSpec("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), [(2, 3)]),
    OpSpec("expand", lambda a: a.expand(4, -1, 3), lambda a: a.expand(4, -1, 3), [(2, 1)], gradgrad=True),
    OpSpec("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [(2, 3)], gradgrad=True),
    OpSpec("tile", lambda a: a.tile((2,)), lambda a: a.tile((2,)), [(2, 3)]),
    OpSpec("repeat_interleave", lambda a: a.repeat_interleave(2, dim=1), lambda a: a.repeat_interleave(2, dim=1), [(2, 3)]),
    OpSpec("repeat_interleave_flat", lambda a: edunn.repeat_interleave(a, 3), lambda a: torch.repeat_interleave(a, 3), [(2, 2)]),
    OpSpec("flip", lambda a: a.flip(0, 2), lambda a: a.flip(0, 2), [(2, 3, 4)]),
    OpSpec("roll", lambda a: a.roll((1, -2), (0, 1)), lambda a: a.roll((1, -2), (0, 1)), [(3, 4)]),
    OpSpec("roll_flat", lambda a: a.roll(2), lambda a: a.roll(2), [(3, 4)]),
    OpSpec("rot90", lambda a: a.rot90(1, (0, 1)), lambda a: a.rot90(1, (0, 1)), [(2, 3)]),
    OpSpec("rot90_k3", lambda a: a.rot90(3, (1, 2)), lambda a: a.rot90(3, (1, 2)), [(2, 3, 4)]),
    OpSpec("narrow", lambda a: a.narrow(1, 1, 2), lambda a: a.narrow(1, 1, 2), [(2, 4)]),
    OpSpec("tril", lambda a: a.tril(-1), lambda a: a.tril(-1), [(2, 4, 4)]),
    OpSpec("triu", lambda a: a.triu(1), lambda a: a.triu(1), [(3, 5)]),
    OpSpec("diagonal", lambda a: a.diagonal(1, 0, 2), lambda a: a.diagonal(1, 0, 2), [(3, 2, 4)], gradgrad=True),
    OpSpec("diag_1d", lambda a: a.diag(-1), lambda a: a.diag(-1), [(3,)], gradgrad=True),
    OpSpec("diag_2d", lambda a: a.diag(), lambda a: a.diag(), [(3, 4)]),
    OpSpec("diag_embed", lambda a: a.diag_embed(1), lambda a: a.diag_embed(1), [(2, 3)]),
    OpSpec("unfold", lambda a: a.unfold(1, 3, 2), lambda a: a.unfold(1, 3, 2), [(2, 7, 2)], gradgrad=True),
    OpSpec("cat", lambda a, b: edunn.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), [(2, 3), (2, 2)], gradgrad=True),
    OpSpec("cat_neg", lambda a, b, c: edunn.concat([a, b, c], -1), lambda a, b, c: torch.concat([a, b, c], -1),
           [(2, 1), (2, 2), (2, 3)]),
    OpSpec("stack", lambda a, b: edunn.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1), [(2, 3), (2, 3)]),
    OpSpec("hstack", lambda a, b: edunn.hstack([a, b]), lambda a, b: torch.hstack([a, b]), [(2, 3), (2, 1)]),
    OpSpec("vstack", lambda a, b: edunn.vstack([a, b]), lambda a, b: torch.vstack([a, b]), [(3,), (2, 3)]),
    OpSpec("dstack", lambda a, b: edunn.dstack([a, b]), lambda a, b: torch.dstack([a, b]), [(2, 3), (2, 3)]),
    OpSpec("column_stack", lambda a, b: edunn.column_stack([a, b]), lambda a, b: torch.column_stack([a, b]), [(3,), (3, 2)]),
    OpSpec("split_int", lambda a: a.split(2, 1), lambda a: a.split(2, 1), [(2, 5)]),
    OpSpec("split_sizes", lambda a: a.split([1, 3], 0), lambda a: a.split([1, 3], 0), [(4, 2)]),
    OpSpec("split_partial", lambda a: a.split(2, 1)[1] * 3, lambda a: a.split(2, 1)[1] * 3, [(2, 5)], gradgrad=True),
    OpSpec("chunk", lambda a: a.chunk(3, 1), lambda a: a.chunk(3, 1), [(2, 7)]),
    OpSpec("chunk_partial", lambda a: a.chunk(3)[0].exp(), lambda a: a.chunk(3)[0].exp(), [(5, 2)]),
    OpSpec("tensor_split", lambda a: a.tensor_split(3, 1), lambda a: a.tensor_split(3, 1), [(2, 7)]),
    OpSpec("tensor_split_idx", lambda a: a.tensor_split([1, 4]), lambda a: a.tensor_split([1, 4]), [(6,)]),
    OpSpec("unbind", lambda a: a.unbind(1), lambda a: a.unbind(1), [(2, 3)]),
    OpSpec("unbind_partial", lambda a: a.unbind(0)[1] * 2, lambda a: a.unbind(0)[1] * 2, [(3, 2)], gradgrad=True),
    OpSpec("broadcast_tensors", lambda a, b: edunn.broadcast_tensors(a, b), lambda a, b: torch.broadcast_tensors(a, b),
           [(3, 1), (1, 4)]),
    OpSpec("meshgrid_ij", lambda a, b: edunn.meshgrid(a, b, indexing="ij"), lambda a, b: torch.meshgrid(a, b, indexing="ij"),
           [(3,), (4,)]),
    OpSpec("meshgrid_xy", lambda a, b: edunn.meshgrid(a, b, indexing="xy"), lambda a, b: torch.meshgrid(a, b, indexing="xy"),
           [(3,), (4,)]),
    OpSpec("atleast_3d", lambda a: edunn.atleast_3d(a), lambda a: torch.atleast_3d(a), [(3,)]),
    OpSpec("pad_constant", lambda a: epad(a, (1, 2, 0, 1), value=0.5), lambda a: TF.pad(a, (1, 2, 0, 1), value=0.5),
           [(2, 3, 4)], gradgrad=True),
    OpSpec("pad_negative", lambda a: epad(a, (-1, 2)), lambda a: TF.pad(a, (-1, 2)), [(2, 4)]),
    OpSpec("pad_reflect", lambda a: epad(a, (2, 1, 1, 2), mode="reflect"), lambda a: TF.pad(a, (2, 1, 1, 2), mode="reflect"),
           [(1, 2, 3, 4)], gradgrad=True),
    OpSpec("pad_replicate", lambda a: epad(a, (2, 3), mode="replicate"), lambda a: TF.pad(a, (2, 3), mode="replicate"),
           [(2, 2, 3)]),
    OpSpec("pad_circular", lambda a: epad(a, (1, 2, 2, 1), mode="circular"), lambda a: TF.pad(a, (1, 2, 2, 1), mode="circular"),
           [(1, 2, 3, 4)]),
]


test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)


@pytest.mark.lesson01
def test_views_share_memory_and_version():
    x = edunn.arange(6.0).reshape(2, 3)
    v = x.t()
    x[0, 0] = 10.0
    assert v[0, 0].item() == 10.0
    assert v._version == x._version
    assert x.view(3, 2)._data.base is not None
    assert x.unsqueeze(0)._base is x._base or x.unsqueeze(0)._base is x


@pytest.mark.lesson01
def test_view_errors():
    x = edunn.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 6"):
        x.view(4, -1)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.view(-1, -1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        edunn.zeros(2, 3, 4).transpose(0, 1).view(-1)
    assert edunn.zeros(2, 3, 4).transpose(0, 1).reshape(-1).shape == (24,)
    assert edunn.zeros(4, 6)[:, :3].view(2, 2, 3).shape == (2, 2, 3)  # compatible strides


@pytest.mark.lesson01
def test_expand_and_cat_errors():
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(4\) must match the existing size \(3\)"):
        edunn.zeros(3).expand(2, 4)
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 1.*\[2, 3\] and \[3, 3\]"):
        edunn.cat([edunn.zeros(2, 3), edunn.zeros(3, 3)], 1)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        edunn.stack([edunn.zeros(2), edunn.zeros(3)])
    with pytest.raises(TypeError):
        edunn.cat(edunn.zeros(2))


@pytest.mark.lesson01
def test_cat_promotes_dtypes():
    out = edunn.cat([edunn.tensor([1, 2]), edunn.tensor([0.5])])
    assert out.dtype == edunn.float32
    assert out.tolist() == [1.0, 2.0, 0.5]
    assert edunn.cat([edunn.zeros(2, 3), edunn.zeros(0)]).shape == (2, 3)


@pytest.mark.lesson01
def test_split_family_shapes():
    x = edunn.arange(10)
    assert [t.shape[0] for t in x.split(4)] == [4, 4, 2]
    assert [t.shape[0] for t in x.chunk(4)] == [3, 3, 3, 1]
    assert [t.shape[0] for t in x.tensor_split(4)] == [3, 3, 2, 2]
    assert len(edunn.zeros(2, 3).unbind(1)) == 3
    assert edunn.broadcast_shapes((3, 1), (4,)) == (3, 4)


@pytest.mark.lesson02
def test_partial_unbind_gradient_is_zero_elsewhere():
    x = edunn.ones(3, 2, requires_grad=True)
    a, b, c = x.unbind()
    (b * 5).sum().backward()
    assert x.grad.tolist() == [[0, 0], [5, 5], [0, 0]]


@pytest.mark.lesson01
@needs_torch
def test_repeat_interleave_tensor_repeats():
    x = np.arange(6.0).reshape(3, 2)
    r = np.array([1, 0, 2])
    out = edunn.tensor(x).repeat_interleave(edunn.tensor(r), dim=0)
    ref = torch.tensor(x).repeat_interleave(torch.tensor(r), dim=0)
    assert_close(out, ref)
    assert_close(edunn.repeat_interleave(edunn.tensor(r)), torch.repeat_interleave(torch.tensor(r)))


@pytest.mark.lesson01
@pytest.mark.parametrize("n,chunks", [(0, 1), (0, 2), (0, 3), (5, 2), (5, 3), (6, 4), (1, 3), (4, 3), (10, 4)])
def test_chunk_sizes_equal_torch(n, chunks):
    torch = pytest.importorskip("torch")
    ours = [t.shape for t in edunn.zeros(n, 2).chunk(chunks)]
    theirs = [tuple(t.shape) for t in torch.zeros(n, 2).chunk(chunks)]
    assert ours == theirs
