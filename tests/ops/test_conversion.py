"""Conversions: ``to`` in every signature, differentiable casts and moves, ``copy_``, ``view(dtype)``."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, check_parity, spec_test, spec_tests, torch

SPECS = [
    OpSpec("to_float64_and_back", lambda a: (a.to(edunn.float64) * 2).to(a.dtype), lambda a: (a.to(torch.float64) * 2).to(a.dtype),
           [(3, 2)]),
    OpSpec("to_other", lambda a, b: a.to(b) + b, lambda a, b: a.to(b) + b, [(2, 3), (2, 3)]),
    OpSpec("copy_", lambda a, b: a.clone().copy_(b) * a, lambda a, b: a.clone().copy_(b) * a, [(2, 3), (3,)]),
]


test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)


# Rounding to a narrower dtype defeats finite differences: these get parity checks only.
PARITY_ONLY = [
    OpSpec("half_round_trip", lambda a: a.half().float() * 3, lambda a: a.half().float() * 3, [(4,)], atol=1e-2, rtol=1e-2),
    OpSpec("float_to_int_to_float", lambda a: a.long().float() + a, lambda a: a.long().float() + a, [(4,)]),
]


test_parity_narrowing = spec_test(check_parity, PARITY_ONLY, lesson=2)


@pytest.mark.lesson01
def test_to_signatures():
    x = edunn.ones(2, 3)
    assert x.to(edunn.float32) is x
    assert x.to("cpu") is x
    assert x.to("cpu", copy=True) is not x
    assert x.to(dtype=edunn.float64).dtype == edunn.float64
    assert x.to("cpu", edunn.int32).dtype == edunn.int32
    assert x.to(edunn.device("cpu"), dtype=edunn.int64, non_blocking=True).dtype == edunn.int64
    assert x.to(edunn.zeros(1, dtype=edunn.float16)).dtype == edunn.float16
    assert x.to(torch_like_dtype := edunn.bfloat16).dtype == torch_like_dtype
    assert x.long().dtype == edunn.int64 and x.bool().dtype == edunn.bool
    assert x.to(memory_format=None) is x


@pytest.mark.lesson01
def test_to_unavailable_device_errors():
    if edunn.backend.cuda_available():
        with pytest.raises(TypeError, match="bfloat16"):
            edunn.ones(2).to("cuda", edunn.bfloat16)
    else:
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            edunn.ones(2).to("cuda")
    with pytest.raises(RuntimeError):
        edunn.ones(2).to("tpu")


@pytest.mark.lesson02
def test_cast_gradient_dtype():
    x = edunn.ones(3, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == edunn.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    assert not x.long().requires_grad


@pytest.mark.lesson02
@pytest.mark.gpu
def test_to_device_gradient_round_trip():
    x = edunn.ones(3, requires_grad=True)
    y = x.to("cuda") * 3
    assert y.device.type == "cuda"
    y.cpu().sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [3.0, 3.0, 3.0]


@pytest.mark.lesson01
def test_copy_and_view_dtype():
    x = edunn.zeros(2, 3)
    x.copy_(edunn.tensor([1, 2, 3]))
    assert x.dtype == edunn.float32 and x.tolist() == [[1, 2, 3], [1, 2, 3]]
    with pytest.raises(RuntimeError, match="broadcast"):
        x.copy_(edunn.zeros(4))
    f = edunn.tensor([1.0, -2.0])
    i = f.view(edunn.int32)
    assert i.dtype == edunn.int32 and i.tolist() == np.array([1.0, -2.0], np.float32).view(np.int32).tolist()
    assert f.view(edunn.int16).shape == (4,)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        edunn.zeros(3, dtype=edunn.int16).view(edunn.int32)
    if torch is not None:
        assert f.view(edunn.int16).tolist() == torch.tensor([1.0, -2.0]).view(torch.int16).tolist()
