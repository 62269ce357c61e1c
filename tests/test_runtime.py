"""``set_num_threads``/``get_num_threads`` and ``set_float32_matmul_precision`` behave as
PyTorch's: the thread count set is the one read back (and the one NumPy's BLAS uses), bad
arguments raise PyTorch's errors, an unknown precision warns and changes nothing."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


@pytest.fixture
def restore_threads():
    before = edunn.get_num_threads()
    yield
    edunn.set_num_threads(before)


def test_the_thread_count_set_is_the_one_blas_uses(restore_threads):
    from threadpoolctl import threadpool_info
    edunn.set_num_threads(1)
    assert edunn.get_num_threads() == 1
    assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == {1}
    a = edunn.randn(64, 64)
    np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy(), rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("value", [0, -1, 1.5, "2", None])
def test_bad_thread_counts_raise_torchs_errors(value, restore_threads):
    with pytest.raises(Exception) as theirs:
        torch.set_num_threads(value)
    with pytest.raises(type(theirs.value)) as ours:
        edunn.set_num_threads(value)
    assert str(ours.value) == str(theirs.value)


@needs_torch
def test_float32_matmul_precision_like_torch():
    before = torch.get_float32_matmul_precision()
    try:
        assert edunn.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
        for value in ("high", "medium", "highest"):
            edunn.set_float32_matmul_precision(value)
            torch.set_float32_matmul_precision(value)
            assert edunn.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == value
        for fw in (edunn, torch):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fw.set_float32_matmul_precision("low")
            assert "not one of 'highest', 'high', or 'medium'" in str(caught[0].message)
            assert fw.get_float32_matmul_precision() == "highest"
        with pytest.raises(RuntimeError) as theirs:
            torch.set_float32_matmul_precision(3)
        with pytest.raises(RuntimeError, match=str(theirs.value)):
            edunn.set_float32_matmul_precision(3)
    finally:
        torch.set_float32_matmul_precision(before)
        edunn.set_float32_matmul_precision("highest")
