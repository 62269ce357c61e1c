"""Every public name of the PyTorch namespaces edunn mirrors exists in edunn's (the tests next to
each module check the values, gradients, signatures and errors of what these names do)."""
import importlib
import inspect

import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson01, needs_torch]

# names edunn leaves out, and why
NOT_IN_EDUNN = {
    "testing": {"FileCheck"},                           # checks TorchScript IR, which edunn does not have
}

SPACES = ["special", "linalg", "func", "testing", "random", "amp", "nn.utils", "nn.utils.parametrize",
          "nn.utils.parametrizations", "nn.attention", "nn.attention.bias", "nn.attention.flex_attention",
          "autograd.graph", "autograd.forward_ad", "utils.checkpoint", "distributions", "distributions.transforms",
          "distributions.constraints", "distributions.constraint_registry"]
SPACES += ["quasirandom", "hub", "multiprocessing", "storage", "utils.dlpack", "utils.hooks", "utils.model_zoo"]
SPACES += ["cpu", "accelerator", "compiler", "cuda.amp", "cuda.random", "cuda.graphs"]
SPACES += ["fft", "signal", "signal.windows", "backends", "backends.cuda", "backends.mps",
           "backends.opt_einsum", "backends.cpu"]
SPACES += ["profiler", "profiler.itt", "autograd.profiler", "utils.benchmark", "utils.flop_counter"]
SPACES += ["nn.utils.prune", "futures"]
SPACES += ["distributed"]


def _functions(module) -> set:
    return {n for n in dir(module) if not n.startswith("_")
            and callable(getattr(module, n)) and not inspect.isclass(getattr(module, n))}


def _public(module) -> set:
    """torch's ``__all__`` where the module has one, else its public functions."""
    names = getattr(module, "__all__", None)
    return {n for n in names if not n.startswith("_")} if names is not None else _functions(module)


@pytest.mark.parametrize("space", SPACES)
def test_every_public_name_of_torchs_namespace_exists(space):
    theirs = _public(importlib.import_module(f"torch.{space}")) - NOT_IN_EDUNN.get(space, set())
    ours = importlib.import_module(f"edunn.{space}")
    assert sorted(n for n in theirs if not hasattr(ours, n)) == []
    assert not NOT_IN_EDUNN.get(space, set()) & set(dir(ours)), "a name said to be left out exists"


@pytest.mark.parametrize("space", ["special", "linalg"])
def test_no_function_torch_does_not_have(space):
    ours = getattr(edunn, space)
    assert set(ours.__all__) <= _functions(getattr(torch, space)), "a name torch does not have"


def test_torchs_numbers_at_the_top_level():
    import math
    for name in ("pi", "e", "inf"):
        assert getattr(edunn, name) == getattr(torch, name)
    assert math.isnan(edunn.nan) and math.isnan(torch.nan)
    assert edunn.newaxis is torch.newaxis is None
    assert edunn.arange(3.0)[edunn.newaxis].shape == (1, 3)
