"""The graders of lesson 07: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

import math
from pathlib import Path

import pytest

import edunn
import edunn.nn.init as init
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson07

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "07_init.ipynb"


# ---------------------------------------------------------------------------- planted mistakes: gains

def gain_relu_variance(nonlinearity, param=None):
    return 2.0 if nonlinearity == "relu" else init.calculate_gain(nonlinearity, param)


def gain_leaky_no_default(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + (param or 0) ** 2))
    return init.calculate_gain(nonlinearity, param)


def gain_leaky_not_squared(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope))
    return init.calculate_gain(nonlinearity, param)


def gain_unknown_is_one(nonlinearity, param=None):
    if nonlinearity in ("tanh", "relu", "leaky_relu", "selu"):
        return init.calculate_gain(nonlinearity, param)
    return 1


# ---------------------------------------------------------------------------- planted mistakes: fans

def fans_swapped(tensor):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(tensor)
    return fan_out, fan_in


def fans_no_receptive_field(tensor):
    if tensor.dim() < 2:
        raise ValueError("too few dimensions")
    return tensor.shape[1], tensor.shape[0]


def fans_no_check(tensor):
    if tensor.dim() < 2:
        return 1, 1
    return init._calculate_fan_in_and_fan_out(tensor)


# ---------------------------------------------------------------------------- planted mistakes: xavier_uniform_

def _xavier_bound(tensor, gain, factor):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(factor / (fan_in + fan_out))


def xavier_no_sqrt3(tensor, gain=1.0, generator=None):
    a = _xavier_bound(tensor, gain, 2.0)
    with edunn.no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def xavier_fan_in_only(tensor, gain=1.0, generator=None):
    fan_in, _ = init._calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(3.0 / fan_in)
    with edunn.no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def xavier_normal_draws(tensor, gain=1.0, generator=None):
    std = _xavier_bound(tensor, gain, 2.0)
    with edunn.no_grad():
        return tensor.normal_(0, std, generator=generator)


def xavier_no_gain(tensor, gain=1.0, generator=None):
    a = _xavier_bound(tensor, 1.0, 6.0)
    with edunn.no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def xavier_without_no_grad(tensor, gain=1.0, generator=None):
    a = _xavier_bound(tensor, gain, 6.0)
    return tensor.uniform_(-a, a, generator=generator)


def xavier_returns_new(tensor, gain=1.0, generator=None):
    a = _xavier_bound(tensor, gain, 6.0)
    return edunn.empty(tensor.shape).uniform_(-a, a, generator=generator)


def xavier_ignores_generator(tensor, gain=1.0, generator=None):
    a = _xavier_bound(tensor, gain, 6.0)
    with edunn.no_grad():
        return tensor.uniform_(-a, a)


# ---------------------------------------------------------------------------- planted mistakes: kaiming_normal_

def _kaiming(std_of):
    def planted(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(tensor)
        fan = fan_in if mode == "fan_in" else fan_out
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"bad mode {mode}")
        std = std_of(init.calculate_gain(nonlinearity, a), fan, fan_in, fan_out, mode)
        with edunn.no_grad():
            return tensor.normal_(0, std, generator=generator)
    return planted


kaiming_variance = _kaiming(lambda g, fan, fi, fo, mode: g * g / fan)
kaiming_no_gain = _kaiming(lambda g, fan, fi, fo, mode: 1 / math.sqrt(fan))
kaiming_ignores_mode = _kaiming(lambda g, fan, fi, fo, mode: g / math.sqrt(fi))
kaiming_always_relu = _kaiming(lambda g, fan, fi, fo, mode: math.sqrt(2 / fan))


def kaiming_uniform_draws(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return init.kaiming_uniform_(tensor, a=a, mode=mode, nonlinearity=nonlinearity, generator=generator)


# ---------------------------------------------------------------------------- planted mistakes: orthogonal_

def _orthogonal(sign_fix=True, transpose=True, gain_power=1.0):
    import numpy  # a test, not the library: numpy is allowed here

    def planted(tensor, gain=1, generator=None):
        if tensor.dim() < 2:
            raise ValueError("Only tensors with 2 or more dimensions are supported")
        rows = tensor.shape[0]
        cols = tensor.numel() // rows
        flat = edunn.randn(rows, cols, generator=generator, dtype=edunn.float64).numpy()
        wide = rows < cols and transpose
        if wide:
            flat = flat.T
        q, r = numpy.linalg.qr(flat)
        if sign_fix:
            q = q * numpy.sign(numpy.diag(r))
        if wide:
            q = q.T
        with edunn.no_grad():
            tensor.copy_(edunn.tensor(q * gain ** gain_power, dtype=tensor.dtype).reshape(tensor.shape))
        return tensor
    return planted


# ---------------------------------------------------------------------------- the tests

def test_calculate_gain():
    assert_full_marks("07.calculate_gain", init.calculate_gain)
    assert_zero("07.calculate_gain", stub)
    assert_partial("07.calculate_gain", gain_relu_variance, mentions="the gain is its square root")
    assert_partial("07.calculate_gain", gain_leaky_no_default, mentions="default negative_slope 0.01")
    assert_partial("07.calculate_gain", gain_leaky_not_squared, mentions="the slope enters squared")
    assert_partial("07.calculate_gain", gain_unknown_is_one, mentions="should raise ValueError")


def test_fans():
    assert_full_marks("07.fan_in_and_fan_out", init._calculate_fan_in_and_fan_out)
    assert_zero("07.fan_in_and_fan_out", stub)
    assert_partial("07.fan_in_and_fan_out", fans_swapped, mentions="swapped")
    assert_partial("07.fan_in_and_fan_out", fans_no_receptive_field, mentions="receptive field")
    assert_partial("07.fan_in_and_fan_out", fans_no_check, mentions="should raise ValueError")


def test_xavier_uniform():
    assert_full_marks("07.xavier_uniform_", init.xavier_uniform_)
    assert_zero("07.xavier_uniform_", stub)
    assert_partial("07.xavier_uniform_", xavier_no_sqrt3, mentions="sqrt(3) times the std")
    assert_partial("07.xavier_uniform_", xavier_fan_in_only, mentions="fan_in alone")
    assert_partial("07.xavier_uniform_", xavier_normal_draws, mentions="look normally distributed")
    assert_partial("07.xavier_uniform_", xavier_no_gain, mentions="the gain is missing")
    assert_partial("07.xavier_uniform_", xavier_without_no_grad, mentions="edunn.no_grad()")
    assert_partial("07.xavier_uniform_", xavier_returns_new, mentions="return the tensor it was given")
    assert_partial("07.xavier_uniform_", xavier_ignores_generator, mentions="should draw from g")


def test_kaiming_normal():
    assert_full_marks("07.kaiming_normal_", init.kaiming_normal_)
    assert_zero("07.kaiming_normal_", stub)
    result = assert_partial("07.kaiming_normal_", kaiming_variance, mentions="the variance")
    assert "your kaiming_normal_ std is 0.0078" in result.render() and "for fan_in=256 and nonlinearity='leaky_relu', a=0 it should be 0.08839" in result.render()
    assert_partial("07.kaiming_normal_", kaiming_no_gain, mentions="the gain is missing")
    assert_partial("07.kaiming_normal_", kaiming_ignores_mode, mentions="that is the std for fan_in")
    assert_partial("07.kaiming_normal_", kaiming_always_relu, mentions="ReLU's value")
    assert_partial("07.kaiming_normal_", kaiming_uniform_draws, mentions="uniform's 1.8")


def test_orthogonal():
    assert_full_marks("07.orthogonal_", init.orthogonal_)
    assert_full_marks("07.orthogonal_", _orthogonal())
    assert_zero("07.orthogonal_", stub)
    assert_partial("07.orthogonal_", _orthogonal(sign_fix=False), mentions="sign of R's diagonal")
    assert_partial("07.orthogonal_", _orthogonal(transpose=False), mentions="factorise the transpose")
    assert_partial("07.orthogonal_", _orthogonal(gain_power=0.5), mentions="multiplied by sqrt(gain)")
    assert_partial("07.orthogonal_", _orthogonal(gain_power=0.0), mentions="the gain is missing")


def test_graders_leave_the_notebooks_random_state_alone():
    edunn.manual_seed(123)
    expected = edunn.rand(3)
    edunn.manual_seed(123)
    assert_full_marks("07.kaiming_normal_", init.kaiming_normal_)
    assert edunn.equal(edunn.rand(3), expected)


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport numpy\nimport edunn\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/07_init.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("07.calculate_gain", ns["calculate_gain"])
    assert_full_marks("07.fan_in_and_fan_out", ns["_calculate_fan_in_and_fan_out"])
    assert_full_marks("07.xavier_uniform_", ns["xavier_uniform_"])
    assert_full_marks("07.kaiming_normal_", ns["kaiming_normal_"])
    assert_full_marks("07.orthogonal_", ns["orthogonal_"])
