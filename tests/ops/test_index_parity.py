"""``x[index]``, ``x[index] = v`` and their gradients, for random mixed indices, against PyTorch.

Every index mixes integers, slices (with steps, empty, negative bounds), ``None``, ``...``,
integer lists and tensors and boolean masks.  The place where NumPy and PyTorch part ways is
integers next to index arrays: NumPy counts an integer as one more index array, PyTorch selects
with it first, so ``x[0, :, [1, 2]]`` has shape ``(5, 2)`` in PyTorch and ``(2, 5)`` in NumPy.
Lesson 01.
"""
import random

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01

SHAPE = (4, 5, 3)
BASE = np.arange(60, dtype=np.float64).reshape(SHAPE)


def _component(rng, size, m):
    r = rng.random()
    if r < 0.2:
        return rng.randrange(-size, size)
    if r < 0.45:
        start = rng.choice([None, rng.randrange(-size, size)])
        stop = rng.choice([None, rng.randrange(-size - 1, size + 1)])
        return slice(start, stop, rng.choice([None, 1, 2, 3]))
    if r < 0.55:
        return None
    if r < 0.7:
        return [rng.randrange(-size, size) for _ in range(rng.randint(1, 3))]
    if r < 0.8:
        return m.tensor([rng.randrange(-size, size) for _ in range(2)])
    if r < 0.9:
        return m.tensor([rng.random() < 0.5 for _ in range(size)])
    return Ellipsis


def _index(m, seed):
    """A random index for a tensor of SHAPE (each component sized for the dim it lands on)."""
    rng = random.Random(seed)
    dims, out, ellipsis = list(SHAPE), [], False
    for _ in range(rng.randint(1, 3)):
        if not dims:
            break
        c = _component(rng, dims[0], m)
        if c is Ellipsis:
            if ellipsis:
                c = slice(None)
            ellipsis = True
            dims = dims[-(rng.randint(0, len(dims)) or len(dims)):] if len(dims) > 1 else dims
        elif c is not None:
            dims.pop(0)
        out.append(c)
    return tuple(out)


def _outcome(m, seed, mode):
    x = m.tensor(BASE, requires_grad=mode == "grad")
    idx = _index(m, seed)
    try:
        if mode == "get":
            y = x[idx]
            return "ok", list(y.shape), y.tolist()
        if mode == "grad":
            y = x[idx]
            (y * m.arange(y.numel(), dtype=m.float64).reshape(y.shape)).sum().backward()
            return "ok", x.grad.tolist()
        y = x.clone()
        if mode == "set":
            y[idx] = m.arange(y[idx].numel(), dtype=m.float64).reshape(y[idx].shape) + 100
        else:
            y[idx] = -1.0
        return "ok", y.tolist()
    except (IndexError, RuntimeError) as error:
        return "error", type(error).__name__


@pytest.mark.parametrize("first", range(0, 800, 100))
@pytest.mark.parametrize("mode", ["get", "grad", "set", "set_scalar"])
def test_random_mixed_indices_match_pytorch(mode, first):
    for seed in range(first, first + 100):
        ours, theirs = _outcome(edunn, seed, mode), _outcome(torch, seed, mode)
        if ours[0] == "error" and theirs[0] == "ok" and mode == "get" and 0 in theirs[1]:
            continue   # PyTorch skips the bounds check when nothing is gathered
        if ours[0] == "error" and theirs[0] == "ok" and torch.tensor(BASE)[_index(torch, seed)].numel() == 0:
            continue
        assert ours == theirs, f"x[{_index(torch, seed)}] ({mode})"


@pytest.mark.parametrize("index, shape", [((0, slice(None), [1, 2]), (5, 2)),
                                          ((slice(None), 0, [1, 2]), (4, 2)),
                                          (([1, 2], 0, [0, 1]), (2,)),
                                          (([1, 2], slice(None), 0), (2, 5)),
                                          ((0, None, [True, False, True, False, True]), (1, 3, 3)),
                                          ((1, slice(0, 2), [[0], [2]]), (2, 2, 1))],
                         ids=["int-slice-list", "slice-int-list", "list-int-list", "list-slice-int", "int-None-mask",
                              "int-slice-2d"])
def test_integers_select_before_index_arrays(index, shape):
    x = edunn.tensor(BASE)
    assert tuple(x[index].shape) == shape == tuple(torch.tensor(BASE)[index].shape)
    assert x[index].tolist() == torch.tensor(BASE)[index].tolist()


@pytest.mark.parametrize("index", [(Ellipsis, [True, False, True, False]), ([True, False],),
                                   (slice(None), np.ones((4, 3), dtype=bool)), (0, 0, 0, 0), (0, [1], 0, 0),
                                   ([1, 2], [0, 1, 2]), (0, [1, 2], slice(None), [0, 1, 2])],
                         ids=["mask-last", "mask-first", "mask-two-dims", "too-many", "too-many-mixed",
                              "no-broadcast", "no-broadcast-mixed"])
def test_bad_indices_are_refused_as_in_pytorch(index):
    messages = []
    for m in (edunn, torch):
        idx = tuple(m.tensor(i) if isinstance(i, (list, np.ndarray)) else i for i in index)
        with pytest.raises(IndexError) as info:
            m.zeros(SHAPE)[idx]
        messages.append(str(info.value))
    assert messages[0] == messages[1]
