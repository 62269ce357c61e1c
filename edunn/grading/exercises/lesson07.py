"""Graders of lesson 07 (initialisation): ``calculate_gain``, ``_calculate_fan_in_and_fan_out``,
``xavier_uniform_``, ``kaiming_normal_`` and ``orthogonal_``.

References: the library's own functions in ``edunn/nn/init.py``.

Exact things are checked exactly: the gains, the fans (conv weights included), that a function
fills the tensor it is given in place, returns that same tensor, records no gradient (it must
work on a ``Parameter``), honours ``generator=``, and that an orthogonal matrix satisfies
``Q^T Q = gain^2 I``.  Random things are checked by statistics of large tensors, with
tolerances derived from the sample size ``n`` (six standard errors):

* the mean, within ``6 std / sqrt(n)``;
* the standard deviation, within a relative ``6 sqrt((kurtosis - 1) / (4 n))`` (the standard
  error of a sample std: kurtosis 3 for a normal, 9/5 for a uniform);
* the shape of the distribution by its kurtosis (a normal 3, a uniform 1.8), and a uniform's
  bound by the largest ``|value|`` (never beyond it, and within ``20 bound / n`` of it);
* the Haar distribution of ``orthogonal_`` by the sign of ``Q[0, 0]`` over 200 draws.

When a standard deviation is wrong, the grader compares it with the values that the usual
mistakes give (no ``sqrt(3)``, ``fan_out`` for ``fan_in``, the gain left out or squared, the
variance used as a standard deviation ...) and names the mistake it recognises.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator

from edunn.grading import Fail, exercise

GAINS = "edunn.nn.init.calculate_gain"
FANS = "edunn.nn.init._calculate_fan_in_and_fan_out"
XAVIER_UNIFORM = "edunn.nn.init.xavier_uniform_"
KAIMING_NORMAL = "edunn.nn.init.kaiming_normal_"
ORTHOGONAL = "edunn.nn.init.orthogonal_"


# ---------------------------------------------------------------------------- helpers


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _num(x: float) -> str:
    return f"{x:.4g}"


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed edunn's generator for the learner's draws, and put the notebook's state back after."""
    import edunn

    state = edunn.get_rng_state()
    edunn.manual_seed(seed)
    try:
        yield
    finally:
        edunn.set_rng_state(state)


def _fill(student: Callable, shape: tuple, seed: int, **kwargs: Any):
    """``student(edunn.empty(shape), **kwargs)`` under a fixed seed; the tensor it filled."""
    import edunn

    tensor = edunn.empty(shape)
    with _seeded(seed):
        result = student(tensor, **kwargs)
    if result is not tensor:
        raise Fail(f"it should return the tensor it was given (return tensor), got "
                   f"{type(result).__name__}")
    return tensor


def _stats(tensor) -> dict:
    """mean, std (population), kurtosis, max |x| and n of all the tensor's values, in float64."""
    x = tensor.detach().double().reshape(-1)
    n = x.numel()
    mean = x.mean().item()
    centred = x - mean
    var = (centred * centred).mean().item()
    kurtosis = ((centred ** 4).mean().item() / var ** 2) if var > 0 else float("nan")
    return {"mean": mean, "std": math.sqrt(var), "kurtosis": kurtosis,
            "max": x.abs().max().item(), "n": n}


def _std_tolerance(n: int, kurtosis: float) -> float:
    """Six standard errors of a sample standard deviation, relative: the sample variance of n
    draws has relative standard error sqrt((kurtosis - 1) / n), its square root half that."""
    return 6 * math.sqrt((kurtosis - 1) / (4 * n))


def _check_std(t, s: dict, expected: float, kurtosis: float, name: str, setting: str,
               formula: str, mistakes: dict[str, float]) -> bool:
    """The sample std matches ``expected`` within the statistical tolerance; if not, name the
    mistake whose std it matches."""
    tol = _std_tolerance(s["n"], kurtosis)
    got = s["std"]
    if expected == 0 or not math.isfinite(got):
        return t.ok(got == expected, f"your {name} std is {_num(got)}; {setting} it should be "
                                     f"{_num(expected)} = {formula}")
    if abs(got / expected - 1) <= tol:
        return t.ok(True, "")
    message = (f"your {name} std is {_num(got)}; {setting} it should be {_num(expected)} = {formula} "
               f"(ratio {_num(got / expected)})")
    for diagnosis, wrong in mistakes.items():
        if wrong > 0 and abs(got / wrong - 1) <= tol:
            message = f"{message}: {diagnosis}"
            break
    return t.fail(message)


def _check_mean(t, s: dict, name: str) -> bool:
    tol = 6 * s["std"] / math.sqrt(s["n"]) + 1e-12
    return t.ok(abs(s["mean"]) <= tol, f"the mean of your {name} values is {_num(s['mean'])}, "
                                       f"expected 0 (within {_num(tol)} for {s['n']} values)")


def _check_plumbing(t, student: Callable, name: str, shape: tuple, **kwargs: Any) -> None:
    """In place, returns the tensor, records no gradient, honours ``generator=``."""
    import edunn

    with t.group("in place, on a Parameter, without recording gradients"):
        weight = edunn.nn.Parameter(edunn.zeros(shape))
        with _seeded(1):
            try:
                result = student(weight, **kwargs)
            except RuntimeError as error:
                if "in-place" in str(error) or "leaf" in str(error):
                    raise Fail(f"{name} failed on a Parameter ({error}): fill it inside "
                               "`with edunn.no_grad():`, initialising is not part of the model's "
                               "computation") from None
                raise
        t.ok(result is weight, f"{name} should return the tensor it was given (return tensor), got "
                               f"{type(result).__name__}")
        t.ok(weight.abs().sum().item() > 0, f"{name} left the Parameter it was given all zeros: "
                                            "fill that tensor in place (tensor.uniform_(...), "
                                            "tensor.copy_(...)), don't make a new one")
        t.ok(weight.grad_fn is None and weight.requires_grad and weight.grad is None,
             f"after {name} the Parameter should still be a leaf that requires grad, with no "
             "grad_fn (work inside `with edunn.no_grad():`)")
    with t.group("generator="):
        a, b, c = edunn.empty(shape), edunn.empty(shape), edunn.empty(shape)
        student(a, generator=edunn.Generator().manual_seed(7), **kwargs)
        student(b, generator=edunn.Generator().manual_seed(7), **kwargs)
        student(c, generator=edunn.Generator().manual_seed(8), **kwargs)
        t.ok(edunn.equal(a, b) and not edunn.equal(a, c),
             f"{name}(tensor, generator=g) should draw from g: two generators seeded alike must "
             "give the same values, differently seeded ones different values (pass generator= on "
             "to tensor.uniform_ / normal_ / edunn.randn)")


# ---------------------------------------------------------------------------- 07.calculate_gain


@exercise("07.calculate_gain", points=2, reference=GAINS, title="the gain of each nonlinearity")
def grade_calculate_gain(student, t):
    from edunn.nn.init import calculate_gain as ref

    linear = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"]
    with t.group("linear layers and sigmoid"):
        for name in linear:
            t.close(student(name), ref(name), f"calculate_gain({name!r})", rtol=1e-9, atol=0)
    with t.group("tanh, relu and selu"):
        t.close(student("tanh"), 5 / 3, "calculate_gain('tanh')", rtol=1e-9, atol=0)
        t.close(student("relu"), math.sqrt(2), "calculate_gain('relu')", rtol=1e-9, atol=0,
                mistakes={"that is the variance factor 2, the gain is its square root": 2.0},
                hint="ReLU halves E[y^2], so the weights' variance doubles and their std grows by sqrt(2)")
        t.close(student("selu"), 3 / 4, "calculate_gain('selu')", rtol=1e-9, atol=0)
    with t.group("leaky_relu"):
        for param in (0.2, 0, 1, 3, 0.01):
            want = ref("leaky_relu", param)
            t.close(student("leaky_relu", param), want, f"calculate_gain('leaky_relu', {param})",
                    rtol=1e-9, atol=0, mistakes={
                        "the gain is sqrt(2 / (1 + slope^2)), not 2 / (1 + slope^2)":
                            2 / (1 + param ** 2),
                        "the slope enters squared: sqrt(2 / (1 + slope^2))":
                            math.sqrt(2 / (1 + param)),
                    })
        t.close(student("leaky_relu"), ref("leaky_relu"), "calculate_gain('leaky_relu') (param=None)",
                rtol=1e-9, atol=0, mistakes={
                    "param=None means leaky_relu's default negative_slope 0.01, not 0": math.sqrt(2)})
    with t.group("bad input"):
        t.raises(ValueError, student, "softmax", what="calculate_gain('softmax')")
        t.raises(ValueError, student, "leaky_relu", "0.2",
                 what="calculate_gain('leaky_relu', '0.2') (a string slope)")
        t.raises(ValueError, student, "leaky_relu", True,
                 what="calculate_gain('leaky_relu', True) (a bool is not a slope)")


# ---------------------------------------------------------------------------- 07.fan_in_and_fan_out


@exercise("07.fan_in_and_fan_out", points=2, reference=FANS, title="fan_in and fan_out of a weight")
def grade_fans(student, t):
    import edunn
    from edunn.nn.init import _calculate_fan_in_and_fan_out as ref

    def one(shape: tuple) -> None:
        got = student(edunn.empty(shape))
        want = ref(edunn.empty(shape))
        if not isinstance(got, tuple) or len(got) != 2:
            raise Fail(f"for a weight of shape {_fmt(shape)} it returned {got!r}, expected a tuple "
                       "(fan_in, fan_out)")
        receptive = math.prod(shape[2:])
        what = f"(fan_in, fan_out) of a weight of shape {_fmt(shape)}"
        if tuple(got) == want[::-1] and want[0] != want[1]:
            raise Fail(f"{what}: got {got}, expected {want}: fan_in and fan_out are swapped (a weight "
                       "is (out_features, in_features, *kernel): fan_in comes from size(1))")
        if tuple(got) == (shape[1], shape[0]) and receptive != 1:
            raise Fail(f"{what}: got {got}, expected {want}: multiply both by the receptive field "
                       f"size (the product of the kernel dims, here {receptive})")
        t.equal(tuple(got), want, what)
        t.ok(all(isinstance(v, int) for v in got), f"{what}: expected Python ints, got "
                                                   f"{tuple(type(v).__name__ for v in got)}")

    with t.group("a Linear weight (out_features, in_features)"):
        one((3, 5))
        one((7, 7))
    with t.group("conv weights (out_channels, in_channels, *kernel)"):
        one((16, 8, 3, 3))
        one((4, 2, 5))
        one((6, 1, 2, 3, 4))
        one((2, 3, 1, 1))
    with t.group("fewer than 2 dimensions"):
        t.raises(ValueError, student, edunn.empty(5), what="a 1-D tensor")
        t.raises(ValueError, student, edunn.tensor(1.0), what="a 0-D tensor")


# ---------------------------------------------------------------------------- 07.xavier_uniform_


@exercise("07.xavier_uniform_", points=3, reference=XAVIER_UNIFORM, title="Glorot's uniform init")
def grade_xavier_uniform(student, t):
    name = "xavier_uniform_"
    cases = [((256, 512), 1.0, "shape (256, 512)"), ((600, 200), 5 / 3, "shape (600, 200), gain=5/3"),
             ((64, 32, 5, 5), 1.0, "a conv weight (64, 32, 5, 5)")]
    for k, (shape, gain, label) in enumerate(cases):
        with t.group(label):
            tensor = _fill(student, shape, 70 + k, **({"gain": gain} if gain != 1.0 else {}))
            s = _stats(tensor)
            receptive = math.prod(shape[2:])
            fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
            std = gain * math.sqrt(2 / (fan_in + fan_out))
            bound = math.sqrt(3) * std
            setting = f"for fan_in={fan_in}, fan_out={fan_out}, gain={_num(gain)}"
            _check_std(t, s, std, 1.8, name, setting, "gain * sqrt(2 / (fan_in + fan_out))", {
                "that is the std of U(-a, a) with a = gain * sqrt(2 / (fan_in + fan_out)): the bound "
                "must be sqrt(3) times the std, a = gain * sqrt(6 / (fan_in + fan_out))": std / math.sqrt(3),
                "the gain is missing": std / gain,
                "the gain is squared: std = gain * sqrt(...), variance = gain^2 * ...": std * gain,
                "that is the std for fan_in alone (Kaiming's 1 / fan_in), Xavier uses "
                "2 / (fan_in + fan_out)": gain / math.sqrt(fan_in),
                "that is the std for fan_out alone, Xavier uses 2 / (fan_in + fan_out)":
                    gain / math.sqrt(fan_out),
                "the 2 in 2 / (fan_in + fan_out) is missing": std / math.sqrt(2),
                "the bound is sqrt(6 / (fan_in + fan_out)) times the gain; the sqrt(3) was applied "
                "twice": std * math.sqrt(3),
                "the receptive field (kernel size) is missing from the fans": gain * math.sqrt(
                    2 / (shape[0] + shape[1])),
            })
            if s["max"] > bound * (1 + 1e-5):
                t.fail(f"a value of {_num(s['max'])} lies beyond the bound {_num(bound)} = sqrt(3) * std: "
                       + ("your values look normally distributed (kurtosis "
                          f"{_num(s['kurtosis'])}, a uniform's is 1.8): draw with tensor.uniform_(-a, a)"
                          if s["kurtosis"] > 2.4 else "the bound is too large"))
            else:
                t.ok(s["max"] >= bound * (1 - 20 / s["n"]),
                     f"the largest |value| is {_num(s['max'])}, but U(-a, a) with a = {_num(bound)} "
                     f"would reach within {_num(20 * bound / s['n'])} of a in {s['n']} draws")
            _check_mean(t, s, name)
    with t.group("the distribution is uniform"):
        s = _stats(_fill(student, (300, 300), 79))
        t.ok(abs(s["kurtosis"] - 1.8) < 0.1, f"the kurtosis E[x^4] / E[x^2]^2 of your values is "
                                             f"{_num(s['kurtosis'])}; a uniform distribution's is 1.8, "
                                             "a normal's 3: draw with tensor.uniform_(-a, a)")
    _check_plumbing(t, student, name, (20, 30))


# ---------------------------------------------------------------------------- 07.kaiming_normal_


def _kaiming_mistakes(gain: float, fan: float, other_fan: float, a: float, nonlinearity: str,
                      fan_label: str) -> dict[str, float]:
    std = gain / math.sqrt(fan)
    other = "fan_out" if fan_label == "fan_in" else "fan_in"
    return {
        f"that is the std for {other}: mode={fan_label!r} divides by {fan_label}": gain / math.sqrt(other_fan),
        "that is gain / fan: take the square root, std = gain / sqrt(fan)": gain / fan,
        "that is gain^2 / fan, the variance: the std is its square root": gain ** 2 / fan,
        "that is 1 / sqrt(fan): the gain is missing (calculate_gain(nonlinearity, a))": 1 / math.sqrt(fan),
        "that is sqrt(2 / fan), ReLU's value whatever nonlinearity and a are: use "
        "calculate_gain(nonlinearity, a)": math.sqrt(2 / fan),
        "that is gain^2 / sqrt(fan): the gain should not be squared": gain ** 2 / math.sqrt(fan),
        "that is the bound of the uniform version (sqrt(3) * std), not the std": std * math.sqrt(3),
        "that is the std with leaky_relu's slope 0.01 (param=None): pass a on to calculate_gain":
            math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(fan),
    }


@exercise("07.kaiming_normal_", points=3, reference=KAIMING_NORMAL, title="He's normal init")
def grade_kaiming_normal(student, t):
    from edunn.nn.init import calculate_gain

    name = "kaiming_normal_"
    cases = [
        ((128, 256), {}, "default arguments, shape (128, 256)"),
        ((128, 256), {"nonlinearity": "relu"}, "nonlinearity='relu', shape (128, 256)"),
        ((128, 256), {"mode": "fan_out", "nonlinearity": "relu"}, "mode='fan_out', nonlinearity='relu'"),
        ((300, 200), {"a": 0.2}, "leaky_relu with a=0.2, shape (300, 200)"),
        ((200, 300), {"nonlinearity": "tanh"}, "nonlinearity='tanh', shape (200, 300)"),
        ((64, 32, 3, 3), {"nonlinearity": "relu"}, "a conv weight (64, 32, 3, 3), relu"),
    ]
    for k, (shape, kwargs, label) in enumerate(cases):
        with t.group(label):
            tensor = _fill(student, shape, 80 + k, **kwargs)
            s = _stats(tensor)
            receptive = math.prod(shape[2:])
            fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
            mode = kwargs.get("mode", "fan_in")
            nonlinearity = kwargs.get("nonlinearity", "leaky_relu")
            a = kwargs.get("a", 0)
            fan, other_fan = (fan_in, fan_out) if mode == "fan_in" else (fan_out, fan_in)
            gain = calculate_gain(nonlinearity, a)
            std = gain / math.sqrt(fan)
            setting = (f"for {mode}={fan} and nonlinearity={nonlinearity!r}"
                       + (f", a={a}" if nonlinearity == "leaky_relu" else ""))
            mistakes = _kaiming_mistakes(gain, fan, other_fan, a, nonlinearity, mode)
            if receptive != 1:
                mistakes["the receptive field (kernel size) is missing from the fan"] = gain / math.sqrt(shape[1])
            _check_std(t, s, std, 3.0, name, setting,
                       f"gain / sqrt({mode}) with gain = calculate_gain({nonlinearity!r}"
                       + (f", {a})" if nonlinearity == "leaky_relu" else ")") + f" = {_num(gain)}",
                       mistakes)
            _check_mean(t, s, name)
    with t.group("the distribution is normal"):
        s = _stats(_fill(student, (300, 300), 89, nonlinearity="relu"))
        t.ok(abs(s["kurtosis"] - 3) < 0.15, f"the kurtosis E[x^4] / E[x^2]^2 of your values is "
                                            f"{_num(s['kurtosis'])}; a normal distribution's is 3, a "
                                            "uniform's 1.8: draw with tensor.normal_(0, std)")
    with t.group("a bad mode"):
        t.raises(ValueError, student, _empty((4, 4)), mode="fan_avg",
                 what="kaiming_normal_(w, mode='fan_avg')")
    _check_plumbing(t, student, name, (20, 30), nonlinearity="relu")


def _empty(shape: tuple):
    import edunn

    return edunn.empty(shape)


# ---------------------------------------------------------------------------- 07.orthogonal_


@exercise("07.orthogonal_", points=3, reference=ORTHOGONAL, title="a (semi-)orthogonal matrix")
def grade_orthogonal(student, t):
    import edunn

    name = "orthogonal_"

    def gram(shape: tuple, gain: float, seed: int, label: str):
        kwargs = {"gain": gain} if gain != 1 else {}
        try:
            q = _fill(student, shape, seed, **kwargs).detach().double()
        except Fail:
            raise
        except Exception as error:
            if shape[0] >= math.prod(shape[1:]):
                raise
            raise Fail(f"{label}: {type(error).__name__}: {error} (for fewer rows than columns "
                       "factorise the transpose, then transpose Q back)") from None
        rows, cols = shape[0], math.prod(shape[1:])
        flat = q.reshape(rows, cols)
        g = flat.T @ flat if rows >= cols else flat @ flat.T
        k = min(rows, cols)
        want = edunn.eye(k, dtype=edunn.float64) * gain ** 2
        which = "Q^T Q" if rows >= cols else "Q Q^T (fewer rows than columns: the rows are orthonormal)"
        err = (g - want).abs().max().item()
        if err > 1e-4 * max(1, gain ** 2):
            diag = g.diagonal().mean().item()
            hint = ""
            if abs(diag - gain) < 1e-3 * gain and gain != 1:
                hint = ": Q^T Q = gain I, so the matrix was multiplied by sqrt(gain); multiply Q by gain"
            elif abs(diag - 1) < 1e-3 and gain != 1:
                hint = ": the gain is missing (multiply Q by gain)"
            raise Fail(f"{label}: {which} should be {_num(gain ** 2)} * I, but it is {_num(err)} away "
                       f"from it (mean diagonal {_num(diag)}){hint}")
        t.ok(True, "")

    with t.group("a tall matrix (rows >= columns): Q^T Q = I"):
        gram((200, 120), 1, 90, "shape (200, 120)")
        gram((50, 50), 1, 91, "shape (50, 50)")
    with t.group("a wide matrix (rows < columns): Q Q^T = I"):
        gram((60, 180), 1, 92, "shape (60, 180)")
    with t.group("gain"):
        gram((80, 60), 2.5, 93, "shape (80, 60) with gain=2.5")
    with t.group("a conv weight: the dims after the first are flattened"):
        gram((16, 8, 3, 3), 1, 94, "shape (16, 8, 3, 3), as (16, 72)")
        gram((100, 4, 3), 1, 95, "shape (100, 4, 3), as (100, 12)")
    with t.group("the sign fix: Q is uniformly (Haar) distributed"):
        with _seeded(96):
            signs = []
            for _ in range(200):
                q = edunn.empty(4, 4)
                student(q)
                signs.append(q[0, 0].item() > 0)
        positive = sum(signs)
        t.ok(60 <= positive <= 140, f"Q[0, 0] was positive in {positive} of 200 draws, expected about "
                                    "half: a QR factorisation may return R with negative diagonal "
                                    "entries, and then Q's columns point in a direction chosen by the "
                                    "algorithm, not at random; multiply each column of Q by the sign "
                                    "of R's diagonal (numpy.sign(numpy.diag(r))) so that the "
                                    "factorisation is unique and Q is uniformly distributed")
    with t.group("fewer than 2 dimensions"):
        t.raises(ValueError, student, _empty((5,)), what="orthogonal_ of a 1-D tensor")
    _check_plumbing(t, student, name, (20, 30))
