"""``edunn.quasirandom.SobolEngine`` against ``torch.quasirandom.SobolEngine``: unscrambled points
bit for bit in 1 to 21201 dimensions, draw/draw_base2/fast_forward/reset, the scrambling math given
PyTorch's random bits, and the errors."""
import inspect

import numpy as np
import pytest

import edunn
from edunn.quasirandom import SobolEngine, _direction_numbers, _scramble_directions
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


@needs_torch
@pytest.mark.parametrize("dim", [1, 2, 7, 50, 1000, 21201])
def test_points_equal_torch(dim):
    ours, theirs = SobolEngine(dim), torch.quasirandom.SobolEngine(dim)
    np.testing.assert_array_equal(ours.draw(5).numpy(), theirs.draw(5).numpy())
    np.testing.assert_array_equal(ours.draw(20, dtype=edunn.float64).numpy(),
                                  theirs.draw(20, dtype=torch.float64).numpy())
    assert ours.draw().dtype == edunn.float32 and ours.num_generated == theirs.num_generated + 1


@needs_torch
def test_direction_numbers_equal_torch_state():
    state = torch.zeros(300, 30, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, 300)
    np.testing.assert_array_equal(_direction_numbers(300), state.numpy())


@needs_torch
def test_draw_base2_fast_forward_reset():
    ours, theirs = SobolEngine(4), torch.quasirandom.SobolEngine(4)
    np.testing.assert_array_equal(ours.draw_base2(3).numpy(), theirs.draw_base2(3).numpy())
    np.testing.assert_array_equal(ours.draw_base2(3).numpy(), theirs.draw_base2(3).numpy())
    ours.fast_forward(5), theirs.fast_forward(5)
    np.testing.assert_array_equal(ours.draw(7).numpy(), theirs.draw(7).numpy())
    ours.reset(), theirs.reset()
    assert ours.num_generated == 0
    ours.fast_forward(3), theirs.fast_forward(3)
    np.testing.assert_array_equal(ours.draw(2).numpy(), theirs.draw(2).numpy())
    out = edunn.empty(1)
    assert ours.draw(3, out=out) is out and out.shape == (3, 4)
    with pytest.raises(ValueError, match="balance properties") as ours_err:
        ours.draw_base2(2)
    with pytest.raises(ValueError) as theirs_err:
        theirs.draw(3, out=torch.empty(1)), theirs.draw_base2(2)
    assert str(ours_err.value) == str(theirs_err.value)


@needs_torch
def test_scrambling_is_torchs_given_the_same_bits():
    state = torch.zeros(9, 30, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, 9)
    ltm = torch.randint(2, (9, 30, 30), generator=torch.Generator().manual_seed(1)).tril()
    expected = state.clone()
    torch._sobol_engine_scramble_(expected, ltm, 9)
    np.testing.assert_array_equal(_scramble_directions(state.numpy(), ltm.numpy()), expected.numpy())


def test_scrambled_sequence_is_seeded_and_in_range():
    a, b = SobolEngine(6, scramble=True, seed=7), SobolEngine(6, scramble=True, seed=7)
    x = a.draw(64)
    np.testing.assert_array_equal(x.numpy(), b.draw(64).numpy())
    assert 0 <= float(x.min()) and float(x.max()) < 1
    # balance: every half of every axis holds exactly half of the first 64 points
    assert ((x.numpy() < 0.5).sum(0) == 32).all()
    assert repr(a) == "SobolEngine(dimension=6, scramble=True, seed=7)"


@needs_torch
def test_errors_and_signatures():
    for bad in (0, 21202):
        with pytest.raises(ValueError, match=r"\[1, 21201\]"):
            SobolEngine(bad)
    def params(f):
        return [(p.name, p.default, p.kind) for p in inspect.signature(f).parameters.values()]
    for name in ("__init__", "draw", "draw_base2", "reset", "fast_forward"):
        assert params(getattr(SobolEngine, name)) == params(getattr(torch.quasirandom.SobolEngine, name))
