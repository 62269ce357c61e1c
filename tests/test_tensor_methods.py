"""Every Tensor method and functional alias, called the same way on edunn and on torch.

The op files test each op's math and gradients in depth; this table makes sure that every name
a PyTorch user may call exists, takes PyTorch's arguments, returns the same values and dtype,
and that each in-place form changes the tensor itself and returns it."""
import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson01, needs_torch]


def _pos(fw):
    return fw.tensor(np.linspace(0.2, 1.9, 12).reshape(3, 4), dtype=fw.float32)


def _other(fw):
    return fw.tensor(np.linspace(-1.5, 1.3, 12).reshape(3, 4), dtype=fw.float32)


def _ints(fw):
    return fw.tensor(np.arange(12).reshape(3, 4) % 7 + 1)


def _frac(fw):
    return fw.tensor(np.linspace(0.1, 0.9, 12).reshape(3, 4), dtype=fw.float32)


def _big(fw):
    return fw.tensor(np.linspace(1.2, 3.0, 12).reshape(3, 4), dtype=fw.float32)


def _spd(fw):
    a = np.linspace(-1, 1, 9).reshape(3, 3)
    return fw.tensor(a @ a.T + 2 * np.eye(3), dtype=fw.float32)


def _mask(fw):
    return fw.tensor((np.arange(12).reshape(3, 4) % 3) == 0)


# name -> (how to build self, call). The call gets (self, fw).
METHODS = {
    "eq": (_pos, lambda x, fw: x.eq(_other(fw))), "ne": (_pos, lambda x, fw: x.ne(_other(fw))),
    "lt": (_pos, lambda x, fw: x.lt(_other(fw))), "le": (_pos, lambda x, fw: x.le(1.0)),
    "gt": (_pos, lambda x, fw: x.gt(_other(fw))), "ge": (_pos, lambda x, fw: x.ge(1.0)),
    "greater": (_pos, lambda x, fw: x.greater(0.5)), "greater_equal": (_pos, lambda x, fw: x.greater_equal(0.5)),
    "less": (_pos, lambda x, fw: x.less(0.5)), "less_equal": (_pos, lambda x, fw: x.less_equal(0.5)),
    "not_equal": (_pos, lambda x, fw: x.not_equal(x)),
    "bitwise_and": (_ints, lambda x, fw: x.bitwise_and(_ints(fw) * 3)),
    "bitwise_or": (_ints, lambda x, fw: x.bitwise_or(5)), "bitwise_xor": (_ints, lambda x, fw: x.bitwise_xor(6)),
    "bitwise_not": (_ints, lambda x, fw: x.bitwise_not()), "and": (_mask, lambda x, fw: x & ~x),
    "or": (_mask, lambda x, fw: x | ~x), "xor": (_ints, lambda x, fw: x ^ 3),
    "lshift": (_ints, lambda x, fw: x << 2), "rshift": (_ints, lambda x, fw: x >> 1),
    "sub": (_pos, lambda x, fw: x.sub(_other(fw), alpha=2)), "subtract": (_pos, lambda x, fw: x.subtract(1.5)),
    "mul": (_pos, lambda x, fw: x.mul(_other(fw))), "multiply": (_pos, lambda x, fw: x.multiply(3)),
    "divide": (_pos, lambda x, fw: x.divide(_other(fw))), "true_divide": (_ints, lambda x, fw: x.true_divide(4)),
    "div_floor": (_pos, lambda x, fw: x.div(_other(fw), rounding_mode="floor")),
    "div_trunc": (_ints, lambda x, fw: x.div(3, rounding_mode="trunc")),
    "floor_divide": (_pos, lambda x, fw: x.floor_divide(_other(fw))), "floordiv": (_ints, lambda x, fw: x // 3),
    "rfloordiv": (_ints, lambda x, fw: 20 // x), "remainder": (_pos, lambda x, fw: x.remainder(_other(fw))),
    "mod": (_other, lambda x, fw: x % 0.7), "rmod": (_ints, lambda x, fw: 17 % x),
    "pow": (_pos, lambda x, fw: x.pow(_other(fw))), "rpow": (_pos, lambda x, fw: 2.0 ** x),
    "arctan2": (_pos, lambda x, fw: x.arctan2(_other(fw))), "neg": (_pos, lambda x, fw: x.neg()),
    "negative": (_other, lambda x, fw: x.negative()), "absolute": (_other, lambda x, fw: x.absolute()),
    "arcsin": (_other, lambda x, fw: (x / 2).arcsin()), "arccos": (_other, lambda x, fw: (x / 2).arccos()),
    "arctan": (_other, lambda x, fw: x.arctan()), "arcsinh": (_other, lambda x, fw: x.arcsinh()),
    "arccosh": (_pos, lambda x, fw: (x + 1).arccosh()), "arctanh": (_other, lambda x, fw: (x / 2).arctanh()),
    "clip": (_other, lambda x, fw: x.clip(-0.5, 0.5)), "clamp_min": (_other, lambda x, fw: x.clamp_min(0.1)),
    "clamp_max": (_other, lambda x, fw: x.clamp_max(0.1)), "fix": (_other, lambda x, fw: (x * 3).fix()),
    "view_as": (_pos, lambda x, fw: x.view_as(fw.zeros(4, 3))), "reshape_as": (_pos, lambda x, fw: x.t().reshape_as(fw.zeros(2, 6))),
    "swapaxes": (_pos, lambda x, fw: x.swapaxes(0, 1)), "swapdims": (_pos, lambda x, fw: x.swapdims(1, 0)),
    "adjoint": (_pos, lambda x, fw: x.adjoint()), "moveaxis": (_pos, lambda x, fw: x[None].moveaxis(0, 2)),
    "expand_as": (_pos, lambda x, fw: x[:1].expand_as(x)), "broadcast_to": (_pos, lambda x, fw: x[:, :1].broadcast_to((2, 3, 4))),
    "ravel": (_pos, lambda x, fw: x.t().ravel()), "fliplr": (_pos, lambda x, fw: x.fliplr()),
    "flipud": (_pos, lambda x, fw: x.flipud()), "argwhere": (_mask, lambda x, fw: x.argwhere()),
    "ger": (_pos, lambda x, fw: x[0].ger(x[1])), "type_as": (_pos, lambda x, fw: x.type_as(_ints(fw))),
    "short": (_ints, lambda x, fw: x.short()), "char": (_ints, lambda x, fw: x.char()),
    "byte": (_ints, lambda x, fw: x.byte()), "bfloat16": (_pos, lambda x, fw: x.bfloat16()),
    "new_tensor": (_pos, lambda x, fw: x.new_tensor([1, 2])), "new_zeros": (_ints, lambda x, fw: x.new_zeros(2, 3)),
    "new_ones": (_pos, lambda x, fw: x.new_ones((2,))), "new_full": (_pos, lambda x, fw: x.new_full((2, 2), 7)),
    "new_empty_shape": (_pos, lambda x, fw: fw.tensor(x.new_empty(2, 5).shape)),
    "cpu": (_pos, lambda x, fw: x.cpu()),
}

# in-place name -> (self builder, out-of-place call, arguments)
INPLACE = {
    "sub_": (_pos, (_other,)), "subtract_": (_pos, (1.5,)), "multiply_": (_pos, (2.0,)),
    "divide_": (_pos, (_other,)), "true_divide_": (_pos, (3.0,)), "floor_divide_": (_pos, (0.3,)),
    "remainder_": (_pos, (0.7,)), "fmod_": (_other, (0.7,)), "pow_": (_pos, (2.0,)),
    "atan2_": (_pos, (_other,)), "neg_": (_pos, ()), "negative_": (_pos, ()), "sign_": (_other, ()),
    "exp_": (_other, ()), "expm1_": (_other, ()), "log_": (_pos, ()), "log1p_": (_pos, ()),
    "rsqrt_": (_pos, ()), "square_": (_other, ()), "sin_": (_other, ()), "cos_": (_other, ()),
    "relu_": (_other, ()), "clip_": (_other, (-0.5, 0.5)), "clamp_min_": (_other, (0.0,)),
    "clamp_max_": (_other, (0.0,)), "floor_": (_other, ()), "ceil_": (_other, ()), "round_": (_other, ()),
    "trunc_": (_other, ()), "reciprocal_": (_pos, ()), "erfinv_": (_other, ()),
    "nan_to_num_": (_pos, ()), "cumsum_": (_pos, (1,)), "tril_": (_pos, ()), "triu_": (_pos, (1,)),
    "lerp_": (_pos, (_other, 0.25)), "addcmul_": (_pos, (_other, _other)), "addcdiv_": (_pos, (_other, _pos)),
    "absolute_": (_other, ()), "acos_": (_frac, ()), "arccos_": (_frac, ()), "asin_": (_frac, ()),
    "arcsin_": (_frac, ()), "atanh_": (_frac, ()), "arctanh_": (_frac, ()), "logit_": (_frac, ()),
    "acosh_": (_big, ()), "arccosh_": (_big, ()), "atan_": (_other, ()), "arctan_": (_other, ()),
    "asinh_": (_other, ()), "arcsinh_": (_other, ()), "cosh_": (_other, ()), "sinh_": (_other, ()),
    "tan_": (_other, ()), "erf_": (_other, ()), "erfc_": (_other, ()), "exp2_": (_other, ()),
    "log2_": (_pos, ()), "log10_": (_pos, ()), "fix_": (_other, ()), "frac_": (_other, ()),
    "sgn_": (_other, ()), "deg2rad_": (_other, ()), "rad2deg_": (_other, ()),
    "arctan2_": (_pos, (_other,)), "copysign_": (_pos, (_other,)), "hypot_": (_pos, (_other,)),
    "xlogy_": (_pos, (_pos,)), "heaviside_": (_other, (_pos,)), "cumprod_": (_pos, (1,)),
    "eq_": (_pos, (_other,)), "ne_": (_pos, (_other,)), "not_equal_": (_pos, (1.0,)),
    "lt_": (_pos, (_other,)), "less_": (_pos, (1.0,)), "le_": (_pos, (1.0,)),
    "less_equal_": (_pos, (_other,)), "gt_": (_pos, (_other,)), "greater_": (_pos, (1.0,)),
    "ge_": (_pos, (1.0,)), "greater_equal_": (_pos, (_other,)),
    "logical_and_": (_other, (_pos,)), "logical_or_": (_other, (_pos,)), "logical_xor_": (_other, (_pos,)),
    "logical_not_": (_other, ()), "bitwise_and_": (_ints, (_ints,)), "bitwise_or_": (_ints, (5,)),
    "bitwise_xor_": (_ints, (6,)), "bitwise_not_": (_ints, ()),
    "addmm_": (_pos, (lambda fw: fw.ones(3, 2), lambda fw: fw.ones(2, 4))),
    "addbmm_": (_pos, (lambda fw: fw.ones(2, 3, 5), lambda fw: fw.ones(2, 5, 4))),
    "gcd_": (_ints, (_ints,)), "lcm_": (_ints, (_ints,)), "ldexp_": (_other, (_ints,)),
    "nextafter_": (_pos, (_other,)), "i0_": (_other, ()), "renorm_": (_other, (1, 1, 0.5)),
    "lgamma_": (_other, ()), "digamma_": (_pos, ()), "polygamma_": (_pos, (1,)), "mvlgamma_": (_big, (2,)),
    "igamma_": (_pos, (_frac,)), "igammac_": (_pos, (_big,)),
}


def _args(fw, args):
    return [a(fw) if callable(a) else a for a in args]


METHODS.update({
    "bitwise_left_shift": (_ints, lambda x, fw: x.bitwise_left_shift(2)),
    "bitwise_right_shift": (_ints, lambda x, fw: x.bitwise_right_shift(1)),
    "isreal": (_pos, lambda x, fw: x.isreal()), "positive": (_other, lambda x, fw: x.positive()),
    "logaddexp2": (_pos, lambda x, fw: x.logaddexp2(_other(fw))),
    "heaviside": (_other, lambda x, fw: x.heaviside(_pos(fw))),
    "deg2rad": (_other, lambda x, fw: x.deg2rad()), "rad2deg": (_other, lambda x, fw: x.rad2deg()),
    "nanquantile": (_pos, lambda x, fw: x.nanquantile(0.3, dim=1, keepdim=True)),
    "hsplit": (_pos, lambda x, fw: x.hsplit(2)[1]), "vsplit": (_pos, lambda x, fw: x.vsplit([1])[1]),
    "dsplit": (_pos, lambda x, fw: x.reshape(3, 2, 2).dsplit(2)[0]),
    "put": (_pos, lambda x, fw: x.put(fw.tensor([0, 5]), fw.tensor([9.0, 8.0]))),
    "unique_consecutive": (_ints, lambda x, fw: x.unique_consecutive()),
    "addbmm": (_pos, lambda x, fw: x.addbmm(fw.ones(2, 3, 5), fw.ones(2, 5, 4), beta=0.5)),
    "addmv": (lambda fw: fw.ones(3), lambda x, fw: x.addmv(_pos(fw), fw.ones(4), alpha=2)),
    "kron": (_pos, lambda x, fw: x.kron(fw.ones(2, 1))),
    "vdot": (lambda fw: fw.ones(3), lambda x, fw: x.vdot(fw.arange(3.0))),
    "logdet": (_spd, lambda x, fw: x.logdet()), "slogdet": (_spd, lambda x, fw: x.slogdet()[1]),
    "gcd": (_ints, lambda x, fw: x.gcd(_ints(fw) * 2 + 4)), "lcm": (_ints, lambda x, fw: x.lcm(_ints(fw) + 1)),
    "ldexp": (_other, lambda x, fw: x.ldexp(_ints(fw))), "nextafter": (_pos, lambda x, fw: x.nextafter(_other(fw))),
    "signbit": (_other, lambda x, fw: x.signbit()), "frexp": (_other, lambda x, fw: x.frexp()[0]),
"i0": (_other, lambda x, fw: x.i0()),
    "diff": (_pos, lambda x, fw: x.diff(2, 0, prepend=fw.ones(1, 4))), "dist": (_pos, lambda x, fw: x.dist(_other(fw), 3)),
    "cov": (_pos, lambda x, fw: x.cov(correction=0)), "corrcoef": (_other, lambda x, fw: x.corrcoef()),
    "histogram": (_other, lambda x, fw: x.histogram(5, range=(-1.0, 1.0))[0]),
    "diagflat": (_pos, lambda x, fw: x.diagflat(-1)), "renorm": (_other, lambda x, fw: x.renorm(2, 0, 1.0)),
    "select": (_pos, lambda x, fw: x.select(1, -1)),
    "select_scatter": (_pos, lambda x, fw: x.select_scatter(fw.zeros(3), 1, 2)),
    "slice_scatter": (_pos, lambda x, fw: x.slice_scatter(fw.zeros(3, 2), 1, 0, None, 2)),
    "diagonal_scatter": (_pos, lambda x, fw: x.diagonal_scatter(fw.zeros(3), 1)),
    "lgamma": (_other, lambda x, fw: x.lgamma()), "digamma": (_pos, lambda x, fw: x.digamma()),
    "polygamma": (_pos, lambda x, fw: x.polygamma(2)), "mvlgamma": (_big, lambda x, fw: x.mvlgamma(3)),
    "igamma": (_pos, lambda x, fw: x.igamma(_big(fw))), "igammac": (_pos, lambda x, fw: x.igammac(_frac(fw))),
    "svd": (_spd, lambda x, fw: x.svd()[1]), "qr": (_spd, lambda x, fw: x.qr()[1].abs()),
    "pinverse": (_pos, lambda x, fw: x.pinverse(rcond=1e-6)), "matrix_power": (_spd, lambda x, fw: x.matrix_power(3)),
    "matrix_exp": (_spd, lambda x, fw: (x / 4).matrix_exp()), "cholesky": (_spd, lambda x, fw: x.cholesky(upper=True)),
    "cholesky_solve": (_spd, lambda x, fw: x.cholesky_solve(fw.linalg.cholesky(_spd(fw)))),
    "cholesky_inverse": (_spd, lambda x, fw: fw.linalg.cholesky(x).cholesky_inverse()),
    "triangular_solve": (_spd, lambda x, fw: x.triangular_solve(_spd(fw).triu())[0]),
    "lu_solve": (_spd, lambda x, fw: x.lu_solve(*fw.linalg.lu_factor(_spd(fw)))),
    "lu": (_spd, lambda x, fw: x.lu()[0]), "geqrf": (_spd, lambda x, fw: x.geqrf()[0].abs()),
    "orgqr": (_spd, lambda x, fw: x.geqrf()[0].orgqr(x.geqrf()[1]).abs()),
    "ormqr": (_spd, lambda x, fw: x.geqrf()[0].ormqr(x.geqrf()[1], _spd(fw), transpose=True).abs()),
})


@pytest.mark.parametrize("name", METHODS)
def test_method_matches_torch(name):
    build, call = METHODS[name]
    ours, theirs = call(build(edunn), edunn), call(build(torch), torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    assert_close(ours, theirs, 1e-5, 1e-5, name)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_method_matches_torch_and_returns_self(name):
    build, args = INPLACE[name]
    x, t = build(edunn), build(torch)
    if name == "erfinv_":
        x, t = x / 2, t / 2
    out = getattr(x, name)(*_args(edunn, args))
    getattr(t, name)(*_args(torch, args))
    assert out is x
    assert_close(x, t, 1e-5, 1e-5, name)


@pytest.mark.parametrize("name, args", [
    ("scatter_", lambda fw: (1, fw.tensor([[0, 1], [2, 3], [1, 0]]), fw.ones(3, 2))),
    ("scatter_add_", lambda fw: (1, fw.tensor([[0, 0], [2, 3], [1, 1]]), fw.ones(3, 2))),
    ("scatter_reduce_", lambda fw: (1, fw.tensor([[0, 0], [2, 3], [1, 1]]), fw.ones(3, 2) * 5, "amax")),
    ("index_add_", lambda fw: (0, fw.tensor([2, 0]), fw.ones(2, 4))),
    ("index_copy_", lambda fw: (1, fw.tensor([3, 1]), fw.zeros(3, 2))),
    ("index_fill_", lambda fw: (1, fw.tensor([0, 2]), -1.0)),
    ("masked_fill_", lambda fw: (_mask(fw), 9.0)),
    ("masked_scatter_", lambda fw: (_mask(fw), fw.arange(12.0).reshape(3, 4))),
    ("fill_", lambda fw: (2.5,)),
    ("transpose_", lambda fw: (0, 1)), ("t_", lambda fw: ()), ("swapdims_", lambda fw: (0, 1)),
    ("squeeze_", lambda fw: ()), ("unsqueeze_", lambda fw: (0,)),
])
def test_inplace_indexing_and_shape_methods(name, args):
    x, t = _pos(edunn), _pos(torch)
    assert getattr(x, name)(*args(edunn)) is x
    getattr(t, name)(*args(torch))
    assert_close(x, t, 1e-6, 1e-6, name)


@pytest.mark.parametrize("name, call", [
    ("concatenate", lambda fw: fw.concatenate([_pos(fw), _other(fw)], 1)),
    ("row_stack", lambda fw: fw.row_stack([_pos(fw), _other(fw)])),
    ("atleast_1d", lambda fw: fw.atleast_1d(fw.tensor(3.0))),
    ("atleast_2d", lambda fw: fw.atleast_2d(fw.tensor([1.0, 2.0]))),
    ("hsplit", lambda fw: fw.hsplit(_pos(fw), 2)[1]), ("vsplit", lambda fw: fw.vsplit(_pos(fw), [1])[1]),
    ("dsplit", lambda fw: fw.dsplit(_pos(fw)[None], 2)[0]),
    ("vdot", lambda fw: fw.vdot(_pos(fw)[0], _other(fw)[0])),
    ("addmv", lambda fw: fw.addmv(_pos(fw)[:, 0], _pos(fw), _other(fw)[0], beta=0.5, alpha=2)),
    ("addbmm", lambda fw: fw.addbmm(fw.ones(3, 3), _pos(fw)[None].expand(2, 3, 4), _other(fw).t()[None].expand(2, 4, 3))),
    ("chain_matmul", lambda fw: fw.chain_matmul(_pos(fw), _other(fw).t(), _pos(fw))),
    ("logdet", lambda fw: fw.logdet(fw.eye(3) * 2 + 0.1)),
    ("slogdet", lambda fw: fw.slogdet(fw.eye(3) - _pos(fw)[:, :3])[1]),
    ("swapaxes", lambda fw: fw.swapaxes(_pos(fw), 0, 1)), ("moveaxis", lambda fw: fw.moveaxis(_pos(fw), 1, 0)),
    ("ravel", lambda fw: fw.ravel(_pos(fw))), ("argwhere", lambda fw: fw.argwhere(_mask(fw))),
    ("greater_equal", lambda fw: fw.greater_equal(_pos(fw), 1.0)), ("less", lambda fw: fw.less(_pos(fw), 1.0)),
    ("bitwise_left_shift", lambda fw: fw.bitwise_left_shift(_ints(fw), 1)),
    ("floor_divide", lambda fw: fw.floor_divide(_ints(fw), 3)), ("pow", lambda fw: fw.pow(2, _pos(fw))),
])
def test_functional_alias_matches_torch(name, call):
    ours, theirs = call(edunn), call(torch)
    assert_close(ours, theirs, 1e-5, 1e-5, name)


def test_get_device_and_sinc_methods_match_torch():
    torch = pytest.importorskip("torch")
    assert edunn.zeros(2).get_device() == torch.zeros(2).get_device() == -1
    x = [0.0, 0.5, -1.25, 3.0]
    assert edunn.tensor(x).sinc().tolist() == pytest.approx(torch.tensor(x).sinc().tolist(), rel=1e-6)
    y = edunn.tensor(x)
    y.sinc_()
    assert y.tolist() == pytest.approx(torch.tensor(x).sinc().tolist(), rel=1e-6)


@pytest.mark.parametrize("name, build, args", [
    ("acos_", _frac, ()), ("sinh_", _other, ()), ("hypot_", _pos, (_other,)), ("xlogy_", _pos, (_pos,)),
    ("cumprod_", _pos, (1,)), ("addmm_", _pos, (lambda fw: fw.ones(3, 2), lambda fw: fw.ones(2, 4))),
])
def test_inplace_forms_carry_the_gradient_like_torch(name, build, args):
    grads = []
    for fw in (edunn, torch):
        leaf = build(fw).requires_grad_()
        x = leaf * 1
        getattr(x, name)(*_args(fw, args))
        (x * build(fw)).sum().backward()
        grads.append(leaf.grad)
    assert_close(grads[0], grads[1], 1e-5, 1e-5, name)


def test_predicates_and_new_empty_strided_match_torch():
    for fw in (edunn, torch):
        assert fw.tensor([0.5]).is_nonzero() and not fw.tensor([[0]]).is_nonzero()
        assert _pos(fw).is_same_size(_other(fw)) and not _pos(fw).is_same_size(fw.ones(4, 3))
        assert _pos(fw).is_signed() and not fw.tensor([1], dtype=fw.uint8).is_signed()
    ours, theirs = _pos(edunn).new_empty_strided((2, 3), (1, 2)), _pos(torch).new_empty_strided((2, 3), (1, 2))
    assert (ours.shape, ours.stride(), ours.dtype.name) == (tuple(theirs.shape), theirs.stride(), "float32")
