"""The ops the core was built with; other op families have their own files."""
from opcheck import OpSpec, spec_tests

SPECS = [
    OpSpec("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], gradgrad=True),
    OpSpec("add_alpha", lambda a, b: a.add(b, alpha=2.5), lambda a, b: a.add(b, alpha=2.5), [(3, 1), (1, 4)]),
    OpSpec("sub", lambda a, b: a - b, lambda a, b: a - b, [(2, 3), (2, 3)]),
    OpSpec("rsub_scalar", lambda a: 3 - a, lambda a: 3 - a, [(5,)]),
    OpSpec("mul", lambda a, b: a * b, lambda a, b: a * b, [(2, 3, 4), (3, 1)], gradgrad=True),
    OpSpec("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (3, 4)], low=0.5, high=2.0, gradgrad=True),
    OpSpec("rdiv_scalar", lambda a: 2 / a, lambda a: 2 / a, [(4,)], low=0.5, high=2.0),
    OpSpec("neg", lambda a: -a, lambda a: -a, [(3,)]),
    OpSpec("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, [(3, 2)], gradgrad=True),
    OpSpec("pow_tensor", lambda a, b: a ** b, lambda a, b: a ** b, [(3,), (3,)], low=0.5, high=2.0, gradgrad=True),
    OpSpec("rpow", lambda a: 2 ** a, lambda a: 2 ** a, [(3,)]),
    OpSpec("exp", lambda a: a.exp(), lambda a: a.exp(), [(2, 5)], gradgrad=True),
    OpSpec("log", lambda a: a.log(), lambda a: a.log(), [(2, 5)], low=0.1, high=3.0, gradgrad=True),
    OpSpec("tanh", lambda a: a.tanh(), lambda a: a.tanh(), [(4, 3)], gradgrad=True),
    OpSpec("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), [(4, 3)], low=-30, high=30, gradgrad=True),
    OpSpec("relu", lambda a: a.relu(), lambda a: a.relu(), [(4, 3)]),
    OpSpec("sum_all", lambda a: a.sum(), lambda a: a.sum(), [(3, 4)]),
    OpSpec("sum_dim", lambda a: a.sum(1, keepdim=True), lambda a: a.sum(1, keepdim=True), [(3, 4, 2)]),
    OpSpec("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 4)]),
    OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)], gradgrad=True),
]


test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)
