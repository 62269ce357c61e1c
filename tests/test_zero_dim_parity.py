"""Every public function of edunn, ``edunn.nn.functional``, ``edunn.special``, ``edunn.linalg`` and
``edunn.fft`` that PyTorch lets take a single 0-d tensor, called with one, against PyTorch: same
dtype, shape and values, and for a tensor that requires grad, the same gradient.

A 0-d tensor is where NumPy differs most from PyTorch: ``np.exp`` of a 0-d array is a NumPy
scalar, not an array, so an in-place step after it fails (``sigmoid`` did, and so ``F.sigmoid``
and ``special.expit``); a draw from a 0-d rate is a Python int (``poisson`` did); NumPy's var of
one element has no degrees of freedom (its gradient divided by zero).  Functions that draw
random numbers are called but their values not compared.
"""
import inspect
import re
import warnings

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01

NAMESPACES = [("", edunn, torch), ("nn.functional.", edunn.nn.functional, torch.nn.functional),
              ("special.", edunn.special, torch.special), ("linalg.", edunn.linalg, torch.linalg),
              ("fft.", edunn.fft, torch.fft)]
RANDOM = ("rand", "normal", "poisson", "bernoulli", "multinomial", "dropout", "empty", "rrelu", "gumbel")
# settings and machinery, not maths: calling them with a tensor would change global state
NOT_FUNCTIONS = re.compile(r"^(set_|use_|get_|is_|manual_seed|seed|initial_seed|load|save|compile|vmap|jit|"
                           r"autocast|no_grad|enable_grad|inference_mode|export|typename|sym_|cond)")


def _functions():
    for prefix, ours, theirs in NAMESPACES:
        for name in sorted(dir(theirs)):
            if name.startswith("_") or NOT_FUNCTIONS.match(name) or not hasattr(ours, name):
                continue
            f = getattr(ours, name)
            if callable(f) and not inspect.isclass(f) and not inspect.ismodule(f):
                yield prefix + name


def _resolve(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _outcome(m, name, value, grad):
    x = m.tensor(value, requires_grad=grad)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _resolve(m, name)(x)
            if grad and isinstance(r, m.Tensor) and r.requires_grad:
                r.sum().backward()
                r = x.grad
    except Exception as error:   # noqa: BLE001  (any refusal counts as one)
        return "error", type(error).__name__
    if not isinstance(r, m.Tensor):
        return "ok", type(r).__name__
    wide = r.detach().to(m.complex128) if r.is_complex() else r.detach().double() if r.dtype != m.bool else r
    return "ok", (str(r.dtype).split(".")[-1], tuple(r.shape), np.asarray(wide.tolist()))


@pytest.mark.parametrize("grad", [False, True], ids=["value", "gradient"])
@pytest.mark.parametrize("value", [0.3, -1.7])
def test_every_function_takes_a_0d_tensor_as_pytorch(value, grad):
    problems = []
    for name in _functions():
        theirs = _outcome(torch, name, value, grad)
        if theirs[0] == "error":
            continue
        ours = _outcome(edunn, name, value, grad)
        if ours[0] == "error":
            problems.append(f"{name}: edunn raises {ours[1]}")
        elif isinstance(theirs[1], tuple) and not any(r in name for r in RANDOM):
            if not isinstance(ours[1], tuple) or ours[1][:2] != theirs[1][:2] or \
                    not np.allclose(ours[1][2], theirs[1][2], rtol=1e-5, atol=1e-6, equal_nan=True):
                problems.append(f"{name}: {ours[1]} != PyTorch's {theirs[1]}")
    assert not problems, "\n".join(problems)
