"""Build the table of PyTorch's autograd node names for edunn's ops, by running torch.

PyTorch names the node an op records after the op's entry in ``derivatives.yaml`` plus the
overload number: ``x * y`` records ``MulBackward0``, ``x.sum()`` ``SumBackward0`` and
``x.sum(1)`` ``SumBackward1``.  edunn's node classes are called after the op (``Mul``), so
``grad_fn.name()`` looks the class up in a table.  This script makes that table from torch
itself: every case below runs the same call on edunn and on torch, and pairs the class of the
node edunn recorded (with its variant, for the classes that serve several of torch's
overloads -- see ``edunn/autograd/_node_names.py``) with ``grad_fn.name()`` from torch.  Only
pairs that differ from the default rule (``<ClassName>Backward0``) are written.

Run it from the repository root after adding an op or a case::

    python tools/extract_node_names.py          # rewrites the table in _node_names.py
    python tools/extract_node_names.py --check  # exits 1 if the table is out of date

``tests/autograd/test_node_names.py`` runs the same cases and compares ``name()`` with torch.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLE = ROOT / "edunn" / "autograd" / "_node_names.py"

# (label, input shapes, domain, call(m, *inputs)); ``m`` is the module (edunn or torch), so one
# lambda runs on both.  Domain: "real" (normal), "pos" (0.5..2), "unit" (-0.9..0.9), "big" (1.5..3).
CASES = [
    ("add", [(3, 4), (3, 4)], "real", lambda m, x, y: x + y),
    ("add_scalar", [(3, 4)], "real", lambda m, x: x + 2),
    ("sub", [(3, 4), (3, 4)], "real", lambda m, x, y: x - y),
    ("rsub", [(3, 4)], "real", lambda m, x: 2 - x),
    ("mul", [(3, 4), (3, 4)], "real", lambda m, x, y: x * y),
    ("mul_scalar", [(3, 4)], "real", lambda m, x: x * 2),
    ("div", [(3, 4), (3, 4)], "pos", lambda m, x, y: x / y),
    ("div_scalar", [(3, 4)], "real", lambda m, x: x / 2),
    ("pow_scalar", [(3, 4)], "pos", lambda m, x: x ** 3),
    ("pow_tensor", [(3, 4), (3, 4)], "pos", lambda m, x, y: x ** y),
    ("rpow", [(3, 4)], "real", lambda m, x: 2 ** x),
    ("neg", [(3, 4)], "real", lambda m, x: -x),
    ("exp", [(3, 4)], "real", lambda m, x: m.exp(x)),
    ("exp2", [(3, 4)], "real", lambda m, x: m.exp2(x)),
    ("expm1", [(3, 4)], "real", lambda m, x: m.expm1(x)),
    ("log", [(3, 4)], "pos", lambda m, x: m.log(x)),
    ("log2", [(3, 4)], "pos", lambda m, x: m.log2(x)),
    ("log10", [(3, 4)], "pos", lambda m, x: m.log10(x)),
    ("log1p", [(3, 4)], "pos", lambda m, x: m.log1p(x)),
    ("sqrt", [(3, 4)], "pos", lambda m, x: m.sqrt(x)),
    ("rsqrt", [(3, 4)], "pos", lambda m, x: m.rsqrt(x)),
    ("reciprocal", [(3, 4)], "pos", lambda m, x: m.reciprocal(x)),
    ("abs", [(3, 4)], "real", lambda m, x: m.abs(x)),
    ("sin", [(3, 4)], "real", lambda m, x: m.sin(x)),
    ("cos", [(3, 4)], "real", lambda m, x: m.cos(x)),
    ("tan", [(3, 4)], "unit", lambda m, x: m.tan(x)),
    ("asin", [(3, 4)], "unit", lambda m, x: m.asin(x)),
    ("acos", [(3, 4)], "unit", lambda m, x: m.acos(x)),
    ("atan", [(3, 4)], "real", lambda m, x: m.atan(x)),
    ("sinh", [(3, 4)], "real", lambda m, x: m.sinh(x)),
    ("cosh", [(3, 4)], "real", lambda m, x: m.cosh(x)),
    ("tanh", [(3, 4)], "real", lambda m, x: m.tanh(x)),
    ("asinh", [(3, 4)], "real", lambda m, x: m.asinh(x)),
    ("acosh", [(3, 4)], "big", lambda m, x: m.acosh(x)),
    ("atanh", [(3, 4)], "unit", lambda m, x: m.atanh(x)),
    ("sigmoid", [(3, 4)], "real", lambda m, x: m.sigmoid(x)),
    ("erf", [(3, 4)], "real", lambda m, x: m.erf(x)),
    ("erfc", [(3, 4)], "real", lambda m, x: m.erfc(x)),
    ("erfinv", [(3, 4)], "unit", lambda m, x: m.erfinv(x)),
    ("lgamma", [(3, 4)], "pos", lambda m, x: m.lgamma(x)),
    ("digamma", [(3, 4)], "pos", lambda m, x: m.digamma(x)),
    ("floor", [(3, 4)], "real", lambda m, x: m.floor(x)),
    ("ceil", [(3, 4)], "real", lambda m, x: m.ceil(x)),
    ("round", [(3, 4)], "real", lambda m, x: m.round(x)),
    ("trunc", [(3, 4)], "real", lambda m, x: m.trunc(x)),
    ("frac", [(3, 4)], "real", lambda m, x: m.frac(x)),
    ("clamp", [(3, 4)], "real", lambda m, x: m.clamp(x, -0.5, 0.5)),
    ("clamp_min", [(3, 4)], "real", lambda m, x: m.clamp_min(x, 0.1)),
    ("maximum", [(3, 4), (3, 4)], "real", lambda m, x, y: m.maximum(x, y)),
    ("minimum", [(3, 4), (3, 4)], "real", lambda m, x, y: m.minimum(x, y)),
    ("atan2", [(3, 4), (3, 4)], "pos", lambda m, x, y: m.atan2(x, y)),
    ("lerp", [(3, 4), (3, 4)], "real", lambda m, x, y: m.lerp(x, y, 0.3)),
    ("addcmul", [(3, 4), (3, 4), (3, 4)], "real", lambda m, x, y, z: m.addcmul(x, y, z)),
    ("addcdiv", [(3, 4), (3, 4), (3, 4)], "pos", lambda m, x, y, z: m.addcdiv(x, y, z)),
    ("where", [(3, 4), (3, 4)], "real", lambda m, x, y: m.where(x > 0, x, y)),
    ("sum", [(3, 4)], "real", lambda m, x: x.sum()),
    ("sum_dim", [(3, 4)], "real", lambda m, x: x.sum(1)),
    ("mean", [(3, 4)], "real", lambda m, x: x.mean()),
    ("mean_dim", [(3, 4)], "real", lambda m, x: x.mean(0)),
    ("prod", [(3, 4)], "pos", lambda m, x: x.prod()),
    ("prod_dim", [(3, 4)], "pos", lambda m, x: x.prod(1)),
    ("max", [(3, 4)], "real", lambda m, x: x.max()),
    ("max_dim", [(3, 4)], "real", lambda m, x: x.max(1)[0]),
    ("min", [(3, 4)], "real", lambda m, x: x.min()),
    ("polygamma", [(3, 4)], "pos", lambda m, x: m.polygamma(1, x)),
    ("mvlgamma", [(3, 4)], "big", lambda m, x: m.mvlgamma(x, 2)),
    ("sinc", [(3, 4)], "real", lambda m, x: m.sinc(x)),
    ("logit", [(3, 4)], "unit", lambda m, x: m.logit(x * 0.5 + 0.5)),
    ("xlogy", [(3, 4), (3, 4)], "pos", lambda m, x, y: m.xlogy(x, y)),
    ("hypot", [(3, 4), (3, 4)], "pos", lambda m, x, y: m.hypot(x, y)),
    ("fmod", [(3, 4)], "real", lambda m, x: m.fmod(x, 1.5)),
    ("remainder", [(3, 4)], "real", lambda m, x: m.remainder(x, 1.5)),
    ("square", [(3, 4)], "real", lambda m, x: m.square(x)),
    ("diag", [(3, 3)], "real", lambda m, x: m.diag(x)),
    ("unfold", [(3, 6)], "real", lambda m, x: x.unfold(1, 2, 2)),
    ("narrow", [(3, 6)], "real", lambda m, x: m.narrow(x, 1, 1, 3)),
    ("diagonal", [(3, 3)], "real", lambda m, x: m.diagonal(x)),
    ("kron", [(2, 2), (2, 2)], "real", lambda m, x, y: m.kron(x, y)),
    ("cross", [(4, 3), (4, 3)], "real", lambda m, x, y: m.linalg.cross(x, y)),
    ("det", [(3, 3)], "real", lambda m, x: m.linalg.det(x)),
    ("inv", [(3, 3)], "real", lambda m, x: m.linalg.inv(x + 3 * m.eye(3, dtype=x.dtype))),
    ("cholesky", [(3, 3)], "real",
     lambda m, x: m.linalg.cholesky(x @ x.mT + 3 * m.eye(3, dtype=x.dtype))),
    ("batch_norm", [(4, 3)], "real",
     lambda m, x: m.nn.functional.batch_norm(x, None, None, training=True)),
    ("group_norm", [(2, 4, 3)], "real", lambda m, x: m.nn.functional.group_norm(x, 2)),
    ("hardsigmoid", [(3, 4)], "real", lambda m, x: m.nn.functional.hardsigmoid(x)),
    ("hardswish", [(3, 4)], "real", lambda m, x: m.nn.functional.hardswish(x)),
    ("mish", [(3, 4)], "real", lambda m, x: m.nn.functional.mish(x)),
    ("softsign", [(3, 4)], "real", lambda m, x: m.nn.functional.softsign(x)),
    ("logsigmoid", [(3, 4)], "real", lambda m, x: m.nn.functional.logsigmoid(x)),
    ("glu", [(3, 4)], "real", lambda m, x: m.nn.functional.glu(x)),
    ("pad", [(3, 4)], "real", lambda m, x: m.nn.functional.pad(x, (1, 1))),
    ("smooth_l1", [(3, 4), (3, 4)], "real",
     lambda m, x, y: m.nn.functional.smooth_l1_loss(x, y)),
    ("bce", [(3, 4), (3, 4)], "unit",
     lambda m, x, y: m.nn.functional.binary_cross_entropy(m.sigmoid(x), m.sigmoid(y))),
    ("adaptive_avg_pool2d", [(1, 2, 4, 4)], "real",
     lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 2)),
    ("interpolate", [(1, 2, 4)], "real",
     lambda m, x: m.nn.functional.interpolate(x, scale_factor=2.0)),
    ("amax", [(3, 4)], "real", lambda m, x: m.amax(x, 1)),
    ("var", [(3, 4)], "real", lambda m, x: x.var(1)),
    ("std", [(3, 4)], "real", lambda m, x: x.std(1)),
    ("logsumexp", [(3, 4)], "real", lambda m, x: m.logsumexp(x, 1)),
    ("norm", [(3, 4)], "real", lambda m, x: m.linalg.vector_norm(x)),
    ("cumsum", [(3, 4)], "real", lambda m, x: m.cumsum(x, 1)),
    ("cumprod", [(3, 4)], "pos", lambda m, x: m.cumprod(x, 1)),
    ("mm", [(3, 4), (4, 2)], "real", lambda m, x, y: m.mm(x, y)),
    ("matmul_2d", [(3, 4), (4, 2)], "real", lambda m, x, y: x @ y),
    ("bmm", [(2, 3, 4), (2, 4, 2)], "real", lambda m, x, y: m.bmm(x, y)),
    ("mv", [(3, 4), (4,)], "real", lambda m, x, y: m.mv(x, y)),
    ("dot", [(4,), (4,)], "real", lambda m, x, y: m.dot(x, y)),
    ("addmm", [(3, 2), (3, 4), (4, 2)], "real", lambda m, x, y, z: m.addmm(x, y, z)),
    ("t", [(3, 4)], "real", lambda m, x: x.t()),
    ("transpose", [(2, 3, 4)], "real", lambda m, x: x.transpose(0, 2)),
    ("permute", [(2, 3, 4)], "real", lambda m, x: x.permute(2, 0, 1)),
    ("view", [(3, 4)], "real", lambda m, x: x.view(12)),
    ("reshape", [(3, 4)], "real", lambda m, x: x.reshape(2, 6)),
    ("expand", [(3, 1)], "real", lambda m, x: x.expand(3, 4)),
    ("squeeze", [(3, 1)], "real", lambda m, x: x.squeeze(1)),
    ("unsqueeze", [(3, 4)], "real", lambda m, x: x.unsqueeze(0)),
    ("select", [(3, 4)], "real", lambda m, x: x[1]),
    ("slice", [(3, 4)], "real", lambda m, x: x[1:]),
    ("index", [(3, 4)], "real", lambda m, x: x[m.tensor([0, 2])]),
    ("cat", [(3, 4), (3, 4)], "real", lambda m, x, y: m.cat([x, y])),
    ("stack", [(3, 4), (3, 4)], "real", lambda m, x, y: m.stack([x, y])),
    ("split", [(4, 4)], "real", lambda m, x: m.split(x, 2)[0]),
    ("gather", [(3, 4)], "real", lambda m, x: m.gather(x, 1, m.tensor([[0], [1], [3]]))),
    ("index_select", [(3, 4)], "real", lambda m, x: m.index_select(x, 0, m.tensor([0, 2]))),
    ("masked_fill", [(3, 4)], "real", lambda m, x: x.masked_fill(x > 0, 0.0)),
    ("flip", [(3, 4)], "real", lambda m, x: m.flip(x, [0])),
    ("roll", [(3, 4)], "real", lambda m, x: m.roll(x, 1, 0)),
    ("repeat", [(3, 4)], "real", lambda m, x: x.repeat(2, 1)),
    ("tril", [(3, 4)], "real", lambda m, x: m.tril(x)),
    ("triu", [(3, 4)], "real", lambda m, x: m.triu(x)),
    ("trace", [(3, 3)], "real", lambda m, x: m.trace(x)),
    ("clone", [(3, 4)], "real", lambda m, x: x.clone()),
    ("to_float", [(3, 4)], "real", lambda m, x: x.to(m.float32)),
    ("sort", [(3, 4)], "real", lambda m, x: m.sort(x, 1)[0]),
    ("topk", [(3, 4)], "real", lambda m, x: m.topk(x, 2)[0]),
    ("softmax", [(3, 4)], "real", lambda m, x: m.softmax(x, 1)),
    ("log_softmax", [(3, 4)], "real", lambda m, x: m.log_softmax(x, 1)),
    ("relu", [(3, 4)], "real", lambda m, x: m.relu(x)),
    ("gelu", [(3, 4)], "real", lambda m, x: m.nn.functional.gelu(x)),
    ("silu", [(3, 4)], "real", lambda m, x: m.nn.functional.silu(x)),
    ("elu", [(3, 4)], "real", lambda m, x: m.nn.functional.elu(x)),
    ("leaky_relu", [(3, 4)], "real", lambda m, x: m.nn.functional.leaky_relu(x)),
    ("softplus", [(3, 4)], "real", lambda m, x: m.nn.functional.softplus(x)),
    ("hardtanh", [(3, 4)], "real", lambda m, x: m.nn.functional.hardtanh(x)),
    ("mse_loss", [(3, 4), (3, 4)], "real", lambda m, x, y: m.nn.functional.mse_loss(x, y)),
    ("nll_loss", [(3, 4)], "real",
     lambda m, x: m.nn.functional.nll_loss(x, m.tensor([0, 3, 1]))),
    ("linear", [(3, 4), (2, 4)], "real", lambda m, x, w: m.nn.functional.linear(x, w)),
    ("linear_bias", [(3, 4), (2, 4), (2,)], "real",
     lambda m, x, w, b: m.nn.functional.linear(x, w, b)),
    ("conv2d", [(1, 2, 5, 5), (3, 2, 3, 3)], "real",
     lambda m, x, w: m.nn.functional.conv2d(x, w)),
    ("max_pool2d", [(1, 2, 4, 4)], "real", lambda m, x: m.nn.functional.max_pool2d(x, 2)),
    ("avg_pool2d", [(1, 2, 4, 4)], "real", lambda m, x: m.nn.functional.avg_pool2d(x, 2)),
    ("layer_norm", [(3, 4)], "real", lambda m, x: m.nn.functional.layer_norm(x, (4,))),
    ("embedding", [(5, 3)], "real",
     lambda m, w: m.nn.functional.embedding(m.tensor([0, 4, 2]), w)),
    ("inplace_on_view", [(3, 4)], "real", lambda m, x: _inplace_on_view(x)),
    # sparse COO (edunn/sparse/)
    ("sparse_coo_tensor", [(3,)], "real", lambda m, v: _sparse(m, v)),
    ("sparse_to_dense", [(3,)], "real", lambda m, v: _sparse(m, v).to_dense()),
    ("sparse_coalesce", [(3,)], "real", lambda m, v: _sparse(m, v, dup=True).coalesce()),
    ("sparse_full_sum", [(3,)], "real", lambda m, v: _sparse(m, v).sum()),
    ("sparse_sum_dim", [(3,)], "real", lambda m, v: m.sparse.sum(_sparse(m, v), 0)),
    ("sparse_mm", [(3,), (4, 2)], "real", lambda m, v, d: m.sparse.mm(_sparse(m, v), d)),
    ("sparse_sparse_mm", [(3,)], "real", lambda m, v: m.sparse.mm(_sparse(m, v), _sparse(m, v))),
    ("sparse_softmax", [(3,)], "real", lambda m, v: m.sparse.softmax(_sparse(m, v), 1)),
    ("sparse_log_softmax", [(3,)], "real", lambda m, v: m.sparse.log_softmax(_sparse(m, v), 0)),
    ("to_sparse", [(3, 4)], "real", lambda m, x: x.to_sparse()),
]


def _inplace_on_view(x):
    """An in-place op on a view: the base's node becomes torch's ``CopySlices``."""
    base = x.clone()
    base[0].mul_(2)
    return base


def _sparse(m, values, dup=False):
    """A 4 x 4 sparse matrix holding ``values`` (three entries; listed twice with ``dup``)."""
    rows, cols = [0, 2, 3], [1, 0, 3]
    if dup:
        rows, cols, values = rows + rows, cols + cols, m.cat([values, values])
    return m.sparse_coo_tensor(m.tensor([rows, cols]), values, (4, 4))

# edunn classes that mirror an ``autograd.Function`` torch writes in Python: their nodes are
# ``<ClassName>Backward`` (no overload number), read from torch's class.  (edunn path, torch path)
PYTHON_FUNCTIONS = [
    ("edunn.nn.parallel._functions.Broadcast", "torch.nn.parallel._functions.Broadcast"),
    ("edunn.nn.parallel._functions.ReduceAddCoalesced",
     "torch.nn.parallel._functions.ReduceAddCoalesced"),
    ("edunn.nn.parallel._functions.Gather", "torch.nn.parallel._functions.Gather"),
    ("edunn.nn.parallel._functions.Scatter", "torch.nn.parallel._functions.Scatter"),
    ("edunn.utils.checkpoint.CheckpointFunction", "torch.utils.checkpoint.CheckpointFunction"),
    ("edunn.utils.hooks._backward_hook_function.<locals>.BackwardHookFunction",
     "torch.nn.modules._functions.BackwardHookFunction"),
]

# Cases where edunn's last node is not the op's own: the op is built from other ops (``dot`` is
# a product then a sum, ``mse_loss`` a mean of squares), or its node class serves several of
# torch's ops and keeps nothing that tells them apart (``Index`` for gather, index_select,
# sort and topk; ``x ** y`` and ``2 ** x`` against ``x ** 2``).  They are left out of the
# table; ``tests/autograd/test_node_names.py`` checks that each still differs, so that one
# fixed by a dedicated node is noticed and moved into the table.
DIFFERENT = {"rsub", "pow_tensor", "rpow", "clamp_min", "addcmul", "addcdiv", "min", "std",
             "bmm", "mv", "dot", "addmm", "squeeze", "unsqueeze", "stack", "gather",
             "index_select", "masked_fill", "trace", "sort", "topk", "mse_loss", "avg_pool2d",
             "max_dim", "square", "diag", "kron", "batch_norm", "group_norm", "softsign", "glu",
             "smooth_l1", "adaptive_avg_pool2d", "interpolate"}

_DOMAINS = {"real": (-2.0, 2.0), "pos": (0.5, 2.0), "unit": (-0.9, 0.9), "big": (1.5, 3.0)}


def make_inputs(shapes: list, domain: str, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    lo, hi = _DOMAINS[domain]
    return [rng.uniform(lo, hi, s) for s in shapes]


def run_case(case: tuple) -> tuple:
    """``(edunn node, torch name)`` for one case: the node the call's first output records."""
    import warnings
    import edunn
    import torch
    warnings.filterwarnings("ignore", "Sparse invariant checks")
    _, shapes, domain, call = case[:4]
    arrays = make_inputs(shapes, domain)
    e_out = call(edunn, *[edunn.tensor(a, requires_grad=True) for a in arrays])
    t_out = call(torch, *[torch.tensor(a, requires_grad=True) for a in arrays])
    return e_out.grad_fn, t_out.grad_fn.name()


def python_function_name(torch_path: str) -> str:
    """``<ClassName>Backward`` for a torch class that is a Python ``autograd.Function``."""
    import importlib
    import torch
    module, name = torch_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    if not issubclass(cls, torch.autograd.Function):
        sys.exit(f"{torch_path} is not a torch.autograd.Function")
    return cls.__name__ + "Backward"


def build() -> dict:
    from edunn.autograd import _node_names
    table: dict = {e: python_function_name(t) for e, t in PYTHON_FUNCTIONS}
    conflicts = []
    for case in CASES:
        if case[0] in DIFFERENT:
            continue
        node, torch_name = run_case(case)
        key = _node_names.node_key(node)
        if table.get(key, torch_name) != torch_name:
            conflicts.append(f"{case[0]}: edunn's {key} would need both {table[key]} and "
                             f"{torch_name}")
        table.setdefault(key, torch_name)
    if conflicts:
        sys.exit("\n".join(conflicts) + "\ngive these classes a variant in "
                 "edunn/autograd/_node_names.py")
    return {k: v for k, v in sorted(table.items())
            if v != _node_names.default_name(k.split(":")[0].rsplit(".", 1)[1], True)}


def render(table: dict) -> str:
    lines = ["TORCH_NAMES = {"]
    lines += [f"    {k!r}: {v!r}," for k, v in table.items()]
    lines.append("}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the table is out of date")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    text = TABLE.read_text()
    pattern = re.compile(r"(# BEGIN GENERATED[^\n]*\n).*?(\n# END GENERATED)", re.S)
    new = pattern.sub(lambda mt: mt.group(1) + render(build()) + mt.group(2), text)
    if args.check:
        if new != text:
            print("edunn/autograd/_node_names.py is out of date: run tools/extract_node_names.py")
            return 1
        return 0
    TABLE.write_text(new)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
