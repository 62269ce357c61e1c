"""The DLPack protocol on edunn tensors (``Tensor.__dlpack__``/``__dlpack_device__``, through
``ops/interop.py``): ``torch.from_dlpack`` and ``numpy.from_dlpack`` of an edunn tensor share its
memory, ``edunn.from_dlpack`` of a torch tensor shares torch's; signatures and errors as torch
2.13's (tensors that require grad, non-strided layouts, a stream on the CPU)."""
import inspect

import numpy as np
import pytest

import edunn
from edunn import backend
from edunn.utils.dlpack import DLDeviceType
from opcheck import needs_torch, torch

pytestmark = needs_torch


def _raises_like(ours, theirs, replace=("torch.", "edunn.")):
    with pytest.raises(Exception) as t_err:
        theirs()
    with pytest.raises(type(t_err.value)) as e_err:
        ours()
    assert str(e_err.value) == str(t_err.value).replace(*replace)


def test_signatures_match_torch():
    for name in ("__dlpack__", "__dlpack_device__"):
        ours = inspect.signature(getattr(edunn.Tensor, name))
        theirs = inspect.signature(getattr(torch.Tensor, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
               [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


def test_dlpack_device_is_torchs_enum(device):
    e = edunn.ones(2, device=device)
    kind, index = e.__dlpack_device__()
    assert isinstance(kind, DLDeviceType)
    if device == "cpu":
        assert (kind, index) == torch.ones(2).__dlpack_device__() == (DLDeviceType.kDLCPU, 0)
    else:
        assert kind == DLDeviceType.kDLCUDA and index == e.device.index


def test_torch_from_dlpack_shares_memory_both_ways():
    e = edunn.arange(6.0).reshape(2, 3)
    t = torch.from_dlpack(e)
    assert t.dtype == torch.float32 and t.shape == (2, 3) and t.device.type == "cpu"
    t[0, 1] = 42.0
    assert e[0, 1].item() == 42.0
    e.add_(1)                                       # and edunn's writes show in torch
    assert t[0, 1].item() == 43.0


def test_numpy_from_dlpack_shares_memory():
    e = edunn.zeros(3, dtype=edunn.float64)
    n = np.from_dlpack(e)
    n[2] = -5.0
    assert e.tolist() == [0.0, 0.0, -5.0]


def test_edunn_from_dlpack_of_torch_shares_memory():
    t = torch.tensor([1.0, 2.0, 3.0])
    e = edunn.from_dlpack(t)
    t[0] = 7.0
    e[1] = 9.0
    assert e.tolist() == [7.0, 9.0, 3.0] and t.tolist() == [7.0, 9.0, 3.0]


@pytest.mark.parametrize("make", [
    lambda m: m.arange(12.0).reshape(3, 4).T,                  # transposed strides
    lambda m: m.arange(12.0).reshape(3, 4)[:, ::2],            # a strided slice
    lambda m: m.arange(3.0).expand(4, 3),                      # stride 0
    lambda m: m.tensor(True),                                   # 0-d bool
    lambda m: m.tensor([1 + 2j, -3j]),                          # complex
    lambda m: m.tensor([1, 2], dtype=m.int64),
    lambda m: m.tensor([0.5, 1.5], dtype=m.float16),
], ids=["transposed", "sliced", "expanded", "bool0d", "complex", "int64", "float16"])
def test_round_trips_through_torch_keep_values_shape_strides_dtype(make):
    e, ref = make(edunn), make(torch)
    t = torch.from_dlpack(e)
    assert t.dtype == ref.dtype and t.shape == ref.shape and t.stride() == ref.stride()
    assert torch.equal(t, ref)
    back = edunn.from_dlpack(t)
    np.testing.assert_array_equal(back.numpy(), e.numpy())


@pytest.mark.parametrize("kwargs", [{}, {"max_version": (1, 0)}, {"copy": False}, {"dl_device": (1, 0)},
                                    {"stream": None}])
def test_keywords_accepted_as_torch(kwargs):
    import ctypes
    name = ctypes.pythonapi.PyCapsule_GetName
    name.restype, name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    ours, theirs = edunn.ones(2).__dlpack__(**kwargs), torch.ones(2).__dlpack__(**kwargs)
    assert name(ours) == name(theirs)   # b"dltensor" or, from max_version (1, 0), b"dltensor_versioned"


def test_copy_true_does_not_share_memory():
    e = edunn.zeros(2)
    copied = edunn.utils.dlpack.from_dlpack(e.__dlpack__(copy=True))
    e[0] = 1.0
    assert copied.tolist() == [0.0, 0.0]


def test_requires_grad_is_refused_as_torch():
    _raises_like(lambda: edunn.ones(2, requires_grad=True).__dlpack__(),
                 lambda: torch.ones(2, requires_grad=True).__dlpack__())
    _raises_like(lambda: torch.from_dlpack(edunn.ones(2, requires_grad=True)),
                 lambda: torch.from_dlpack(torch.ones(2, requires_grad=True)))
    e = edunn.ones(2, requires_grad=True)
    assert torch.from_dlpack(e.detach()).tolist() == [1.0, 1.0]


def test_non_strided_layout_is_refused_as_torch():
    _raises_like(lambda: edunn.ones(3).to_sparse().__dlpack__(), lambda: torch.ones(3).to_sparse().__dlpack__())


def test_stream_on_cpu_and_foreign_device_are_refused_as_torch_and_numpy():
    _raises_like(lambda: edunn.ones(3).__dlpack__(stream=1), lambda: torch.ones(3).__dlpack__(stream=1))
    _raises_like(lambda: edunn.ones(3).__dlpack__(dl_device=(2, 0)), lambda: np.ones(3).__dlpack__(dl_device=(2, 0)))


def test_legacy_to_dlpack_as_torch():
    """torch.utils.dlpack.to_dlpack exports a tensor that requires grad (its values) and refuses
    a sparse one."""
    t = torch.utils.dlpack.from_dlpack(edunn.utils.dlpack.to_dlpack(edunn.ones(2, requires_grad=True)))
    assert t.tolist() == [1.0, 1.0] and not t.requires_grad
    _raises_like(lambda: edunn.utils.dlpack.to_dlpack(edunn.ones(3).to_sparse()),
                 lambda: torch.utils.dlpack.to_dlpack(torch.ones(3).to_sparse()))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        edunn.utils.dlpack.to_dlpack([1.0])


def test_bfloat16_says_why_it_cannot_be_exported():
    with pytest.raises(BufferError, match="bfloat16"):
        edunn.ones(2, dtype=edunn.bfloat16).__dlpack__()


def test_device_array_module_imports_an_edunn_tensor_sharing_memory(device):
    """On every device, the array module of that device (NumPy, CuPy) imports the tensor through
    the protocol without a copy."""
    e = edunn.zeros(4, device=device)
    with backend.device_context(e.device):
        arr = backend.xp_for(e.device).from_dlpack(e)
    arr[1] = 3.0
    assert e.tolist() == [0.0, 3.0, 0.0, 0.0]
