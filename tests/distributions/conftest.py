"""Both libraries validate distribution arguments by default, and the tests here compare their
errors.  torch.compile (which other tests in the same process run) turns PyTorch's default off
for good (torch/_dynamo/eval_frame.py), and then, say, a StudentT's inner Chi2 stays silent on
the PyTorch side only; so every test here starts from the defaults."""
import pytest


@pytest.fixture(autouse=True)
def _validation_on_by_default(monkeypatch):
    import edunn.distributions as D
    monkeypatch.setattr(D.Distribution, "_validate_args", True)
    try:
        import torch
    except ImportError:
        return
    monkeypatch.setattr(torch.distributions.Distribution, "_validate_args", True)
