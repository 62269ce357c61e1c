"""How complex tensors print: ``repr`` equal to torch's for the same values (lesson 01)."""
import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01

CASES = [
    [1 + 2j, 3 - 1j],
    [1.5 + 2j, -3e-5j],
    1j,
    -2.5 + 0j,
    [[1 + 1e9j, 0j], [2, -1j]],
    [float("nan") + 1j, complex(float("inf"), -2), complex(1, float("-inf"))],
    [0.1234567 + 0.5j] * 3,
    (np.arange(2000).reshape(40, 50) * (1 + 0.5j)).tolist(),
    (np.arange(12).reshape(2, 3, 2) - 5.5j).tolist(),
    [-0.0 - 0.0j],
    [],
    [[]],
]


def _torch_repr(t) -> str:
    return repr(t).replace("torch.", "edunn.")


@needs_torch
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_repr_matches_torch(case, dtype):
    data = np.array(CASES[case], dtype=dtype)
    e, t = edunn.tensor(data), torch.tensor(data)
    assert repr(e) == _torch_repr(t)


@needs_torch
@pytest.mark.parametrize("options", [dict(sci_mode=True), dict(precision=2), dict(sci_mode=False, precision=6),
                                     dict(threshold=5, edgeitems=1), dict(linewidth=30)])
def test_repr_with_print_options_matches_torch(options):
    data = np.array([[1 + 2j, 3.25 - 1e-3j, 0.5], [7e4, -2j, 1 + 1j]])
    edunn.set_printoptions(**options)
    torch.set_printoptions(**options)
    try:
        assert repr(edunn.tensor(data)) == _torch_repr(torch.tensor(data))
    finally:
        edunn.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


@needs_torch
def test_repr_suffixes_match_torch():
    data = [1 + 2j, -1j]
    e, t = edunn.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    assert repr(e) == _torch_repr(t)
    # torch's real is a select of view_as_real (SelectBackward0); the values and the suffix match
    assert repr(edunn.real(e)).split("grad_fn")[0] == _torch_repr(torch.real(t)).split("grad_fn")[0]
    assert repr(edunn.tensor(data, dtype=edunn.complex128)) == _torch_repr(torch.tensor(data, dtype=torch.complex128))
    edunn.set_default_dtype(edunn.float64)
    torch.set_default_dtype(torch.float64)
    try:  # the default complex type follows the default float type
        for dt in ("complex64", "complex128"):
            assert repr(edunn.tensor(data, dtype=getattr(edunn, dt))) == \
                _torch_repr(torch.tensor(data, dtype=getattr(torch, dt)))
    finally:
        edunn.set_default_dtype(edunn.float32)
        torch.set_default_dtype(torch.float32)
