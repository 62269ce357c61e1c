"""Every exported name exists in torch.distributions with the same constructor arguments and the
same public methods and properties."""
import inspect

import pytest

import edunn.distributions as D
from opcheck import needs_torch, torch

pytestmark = needs_torch

CLASSES = [n for n in D.__all__ if isinstance(getattr(D, n), type)]
MEMBERS = ["batch_shape", "event_shape", "sample", "rsample", "log_prob", "entropy", "mean", "mode",
           "variance", "stddev", "expand", "support", "arg_constraints", "has_rsample", "cdf", "icdf",
           "perplexity", "has_enumerate_support"]


def test_all_names_exist_in_torch():
    for name in D.__all__:
        assert hasattr(torch.distributions, name), name


@pytest.mark.parametrize("name", CLASSES)
def test_constructor_signature(name):
    ours = list(inspect.signature(getattr(D, name).__init__).parameters)
    theirs = list(inspect.signature(getattr(torch.distributions, name).__init__).parameters)
    assert ours == theirs


@pytest.mark.parametrize("name", CLASSES)
def test_members(name):
    for member in MEMBERS:
        assert hasattr(getattr(D, name), member) == hasattr(getattr(torch.distributions, name), member), member
    for member in ("enumerate_support", "param_shape", "probs", "logits"):
        assert hasattr(getattr(D, name), member) == hasattr(getattr(torch.distributions, name), member), member


def test_kl_functions_signature():
    for name in ("kl_divergence", "register_kl"):
        ours = list(inspect.signature(getattr(D, name)).parameters)
        assert ours == list(inspect.signature(getattr(torch.distributions, name)).parameters)
