"""``edunn.special`` and ``edunn.linalg`` hold every function of ``torch.special`` and
``torch.linalg`` (the op tests check each one's values and gradients against torch)."""
import inspect

import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson01, needs_torch]

# torch.linalg names whose results are complex tensors, which edunn does not have
NOT_IN_EDUNN = {"linalg": {"eig", "eigvals"}, "special": set()}


def _functions(module) -> set:
    return {n for n in dir(module) if not n.startswith("_")
            and callable(getattr(module, n)) and not inspect.isclass(getattr(module, n))}


@pytest.mark.parametrize("space", ["special", "linalg"])
def test_every_function_of_torchs_namespace_exists(space):
    theirs = _functions(getattr(torch, space)) - NOT_IN_EDUNN[space]
    ours = getattr(edunn, space)
    assert sorted(n for n in theirs if not callable(getattr(ours, n, None))) == []
    assert set(ours.__all__) <= _functions(getattr(torch, space)), "a name torch does not have"
    assert not NOT_IN_EDUNN[space] & set(dir(ours))
