"""``FlopCounterMode``: count the floating-point operations of a computation (PyTorch's
``torch.utils.flop_counter``).

PyTorch counts FLOPs with a ``TorchDispatchMode``: every aten op passes through it, and the ops
that have a formula in ``flop_registry`` (matrix products, convolutions, attention) add their
count.  Only those ops count; elementwise ops, reductions and copies count zero.  The formulas
count a multiply-add as 2 FLOPs (``2 * m * n * k`` for ``(m, k) @ (k, n)``).

edunn has no dispatcher, but every op passes through ``Function.apply``, and
``edunn.autograd.op_hooks`` lets an observer see each call.  The counter therefore keys its
formulas by ``Function`` class:

* ``MatMul`` is ``aten.mm`` when an operand is at most 2-D (PyTorch folds batch dims into an
  ``mm``) and ``aten.bmm`` otherwise: ``2 * batch * n * m * k``; its backward is two more
  ``MatMul`` calls, which the observer sees and counts like any other;
* ``Linear`` is ``aten.addmm`` (with a bias) or ``aten.mm``: ``2 * rows * in * out``;
* ``ConvNd``/``ConvTransposeNd`` are ``aten.convolution`` with PyTorch's ``conv_flop_count``;
* ``Einsum`` contracts left to right in pairs, each pair a ``aten.bmm`` (PyTorch without
  opt_einsum), a pair with nothing to sum a plain product (0 FLOPs).

``Linear`` and the convolutions compute their plain backward with array code, not with ops, so
their backward is counted by formula: the counter hangs a hook on each graph node it saw being
made, and while that node's backward runs it counts ``aten.mm`` (twice, for input and weight) or
``aten.convolution_backward`` (PyTorch's ``conv_backward_flop``) and ignores the ops inside.
Scaled dot-product attention is two ``MatMul``s here, as on PyTorch's CPU (math) path, so its
count is PyTorch's.  Two differences: a 1-D operand of ``matmul`` (PyTorch's ``mv``/``dot``,
which it does not count) is counted here as the ``mm`` edunn computes, and the keys of
``get_flop_counts()`` are strings such as ``"aten.mm"`` (PyTorch's print the same).

Module names (``get_flop_counts()``'s outer keys) follow PyTorch's ``ModuleTracker``: a module
first seen is named by its class, its children ``"Parent.child"``; the backward of an op is
counted under the modules that were running when the op ran forward.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Any, Callable

from ..autograd import op_hooks
from ..autograd.function import Function

__all__ = ["FlopCounterMode", "register_flop_formula"]


def get_shape(i: Any) -> Any:
    """A tensor's shape (a tuple); anything else unchanged."""
    shape = getattr(i, "shape", None)
    return tuple(shape) if shape is not None and hasattr(i, "_data") else i


def _tree_map(f: Callable, x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(_tree_map(f, e) for e in x)
    if isinstance(x, dict):
        return {k: _tree_map(f, v) for k, v in x.items()}
    return f(x)


def shape_wrapper(f: Callable) -> Callable:
    """Give ``f`` shapes instead of tensors, and the output's shape as ``out_shape``."""
    def nf(*args, out_val=None, **kwargs):
        args, kwargs, out_shape = _tree_map(get_shape, (args, kwargs, out_val))
        return f(*args, out_shape=out_shape, **kwargs)
    nf.__name__, nf.__doc__ = getattr(f, "__name__", "formula"), f.__doc__
    return nf


# user formulas: Function subclass -> formula(*args, out_val=...) (already shape-wrapped)
flop_registry: dict = {}


def register_flop_formula(targets: Any, get_raw: bool = False) -> Callable:
    """Decorator: ``formula(*input_shapes, out_shape=None, **kwargs) -> int`` counts the FLOPs of
    ``targets`` (a ``Function`` subclass or a list of them -- PyTorch takes ``torch.ops`` packets;
    edunn's custom ops are ``Function`` subclasses).  With ``get_raw=True`` the formula receives
    the raw arguments and ``out_val`` instead of shapes."""
    def register_fun(flop_formula: Callable) -> Callable:
        wrapped = flop_formula if get_raw else shape_wrapper(flop_formula)

        def register(target: Any) -> None:
            if not (isinstance(target, type) and issubclass(target, Function)):
                raise ValueError(
                    f"register_flop_formula(targets): expected each target to be a Function "
                    f"subclass (edunn's counterpart of torch.ops.mylib.foo), got {target} which is "
                    f"of type {type(target)}")
            if target in flop_registry:
                raise RuntimeError(f"duplicate registrations for {target}")
            flop_registry[target] = wrapped
        _tree_map(register, targets if isinstance(targets, (list, tuple)) else [targets])
        return wrapped
    return register_fun


# ----------------------------------------------------------------- PyTorch's formulas, on shapes
def mm_flop(a_shape: tuple, b_shape: tuple, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """``(m, k) @ (k, n)``: ``2 * m * n * k`` (a multiply and an add per term)."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return m * n * 2 * k


def bmm_flop(a_shape: tuple, b_shape: tuple, out_shape: Any = None, **kwargs: Any) -> int:
    """``(b, m, k) @ (b, k, n)``: ``2 * b * m * n * k``."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2:
        raise AssertionError(f"bmm: batch dimensions must match (b == b2), got {b} and {b2}")
    if k != k2:
        raise AssertionError(f"bmm: inner dimensions must match (k == k2), got {k} and {k2}")
    return b * m * n * 2 * k


def conv_flop_count(x_shape: tuple, w_shape: tuple, out_shape: tuple, transposed: bool = False) -> int:
    """PyTorch's count for a convolution: for each output position (each *input* position for a
    transposed one) a filter's worth of multiply-adds, for every batch element and every pair of
    input and output channels of a group: ``prod(positions) * prod(kernel) * N * C_out * C_in * 2``
    (bias not counted)."""
    batch_size = x_shape[0]
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *filter_size = w_shape
    return math.prod(conv_shape) * math.prod(filter_size) * batch_size * c_out * c_in * 2


def conv_backward_flop(grad_out_shape: tuple, x_shape: tuple, w_shape: tuple, transposed: bool,
                       output_mask: tuple, grad_input_shape: tuple, grad_weight_shape: tuple) -> int:
    """PyTorch's ``conv_backward_flop``: the input gradient is a transposed convolution of the
    output gradient with the weight; the weight gradient a convolution of the input with the
    output gradient, batch and channel dims swapped (``t``)."""
    def t(shape):
        return [shape[1], shape[0]] + list(shape[2:])
    flop_count = 0
    if output_mask[0]:
        flop_count += conv_flop_count(grad_out_shape, w_shape, grad_input_shape, not transposed)
    if output_mask[1]:
        if transposed:
            flop_count += conv_flop_count(t(grad_out_shape), t(x_shape), t(grad_weight_shape), False)
        else:
            flop_count += conv_flop_count(t(x_shape), t(grad_out_shape), t(grad_weight_shape), False)
    return flop_count


def sdpa_flop_count(query_shape: tuple, key_shape: tuple, value_shape: tuple) -> int:
    """Attention ``softmax(Q K^T) V`` for (b, h, s, d) inputs: the two batched products."""
    b, h, s_q, d_q = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    return bmm_flop((b * h, s_q, d_q), (b * h, d_q, s_k)) + bmm_flop((b * h, s_q, s_k), (b * h, s_k, d_v))


# ----------------------------------------------------------------- edunn's ops -> (name, FLOPs)
def _matmul_flops(args: tuple, out: Any) -> tuple:
    a, b = args[0].shape, args[1].shape
    n, m = out.shape[-2], out.shape[-1]
    name = "bmm" if len(a) >= 3 and len(b) >= 3 else "mm"
    return name, math.prod(out.shape[:-2]) * n * m * 2 * a[-1]


def _linear_flops(args: tuple, out: Any) -> tuple:
    x, w, b = args[0], args[1], args[2] if len(args) > 2 else None
    if w.dim() != 2:   # a 1-D weight is PyTorch's mv, which it does not count
        return "mm", 0
    rows = math.prod(x.shape[:-1])
    return ("addmm" if b is not None else "mm"), mm_flop((rows, w.shape[1]), (w.shape[1], w.shape[0]))


def _conv_flops(transposed: bool) -> Callable:
    def count(args: tuple, out: Any) -> tuple:
        return "convolution", conv_flop_count(tuple(args[0].shape), tuple(args[1].shape),
                                              tuple(out.shape), transposed)
    return count


def _einsum_flops(args: tuple, out: Any) -> tuple:
    """Left-to-right pairwise contraction (PyTorch's order without opt_einsum): a pair is a bmm
    over (letters in both kept) x (left only) x (right only) x (summed), or a product when nothing
    is summed; letters no later operand or the output needs are summed away first (free)."""
    subs, out_letters, operands = args[0], args[1], args[2:]
    sizes: dict = {}
    for s, t in zip(subs, operands):
        for c, n in zip(s, t.shape):
            sizes[c] = n
    total = 0
    left = set(subs[0])
    for i in range(1, len(subs)):
        later = set(out_letters).union(*[set(s) for s in subs[i + 1:]])
        right = set(subs[i])
        left = {c for c in left if c in later or c in right}
        right = {c for c in right if c in later or c in left}
        summed = (left & right) - later
        if summed:
            total += 2 * math.prod(sizes[c] for c in left | right)
        left = (left | right) - summed
    return "bmm", total


def _op_counters() -> dict:
    from ..ops.linalg import MatMul, Einsum
    from ..nn.functional.linear import Linear
    from ..nn.functional.conv import ConvNd, ConvTransposeNd
    return {MatMul: _matmul_flops, Linear: _linear_flops, ConvNd: _conv_flops(False),
            ConvTransposeNd: _conv_flops(True), Einsum: _einsum_flops}


def _linear_backward(args: tuple, out: Any, needs: tuple) -> tuple:
    name, flops = _linear_flops((args[0], args[1], None), out)
    return "mm", flops * (int(needs[0]) + int(needs[1]))


def _conv_backward(transposed: bool) -> Callable:
    def count(args: tuple, out: Any, needs: tuple) -> tuple:
        x, w = tuple(args[0].shape), tuple(args[1].shape)
        return "convolution_backward", conv_backward_flop(tuple(out.shape), x, w, transposed,
                                                          needs[:2], x, w)
    return count


def _backward_counters() -> dict:
    """Ops whose plain backward is array code, with the formula that counts it."""
    from ..nn.functional.linear import Linear
    from ..nn.functional.conv import ConvNd, ConvTransposeNd
    return {Linear: _linear_backward, ConvNd: _conv_backward(False),
            ConvTransposeNd: _conv_backward(True)}


_COUNTERS: dict = {}
_BACKWARD_COUNTERS: dict = {}


def op_flops(cls: type, args: tuple, kwargs: dict, out: Any) -> tuple | None:
    """``(aten name, FLOPs)`` of one call of op ``cls``, or None for an op with no formula (it
    counts zero).  The profiler's ``with_flops`` uses this too."""
    if cls in flop_registry:
        return cls.__name__, flop_registry[cls](*args, **kwargs, out_val=out)
    if not _COUNTERS:
        _COUNTERS.update(_op_counters())
    counter = _COUNTERS.get(cls)
    return None if counter is None else counter(args, out)


def backward_flops(cls: type, args: tuple, out: Any, needs: tuple) -> tuple | None:
    """``(aten name, FLOPs)`` of the backward of an op whose backward is not made of ops."""
    if not _BACKWARD_COUNTERS:
        _BACKWARD_COUNTERS.update(_backward_counters())
    counter = _BACKWARD_COUNTERS.get(cls)
    return None if counter is None else counter(args, out, needs)


def _first_tensor(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return out[0] if out else None
    return out


class _ModuleTracker:
    """The names of the modules currently running forward (PyTorch's ``ModuleTracker``), kept
    with edunn's global forward pre/post hooks."""

    def __init__(self) -> None:
        self.parents: list = ["Global"]
        self._known: dict = {}
        self._handles: list = []

    def _name(self, mod: Any) -> str:
        key = id(mod)
        if key not in self._known:
            self._known[key] = (mod, type(mod).__name__)
        name = self._known[key][1]
        for child_name, child in mod.named_children():
            self._known[id(child)] = (child, f"{name}.{child_name}")
        return name

    def __enter__(self) -> "_ModuleTracker":
        from ..nn.modules import module as _module
        self._handles = [
            _module.register_module_forward_pre_hook(lambda m, a: self.parents.append(self._name(m))),
            _module.register_module_forward_hook(self._pop, always_call=True)]
        return self

    def _pop(self, mod: Any, args: Any, output: Any) -> None:
        name = self._name(mod)
        for i in range(len(self.parents) - 1, 0, -1):
            if self.parents[i] == name:
                del self.parents[i]
                break

    def __exit__(self, *args: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number: int) -> str:
    """The suffix PyTorch prints a total with (``1.01B`` is shown as ``1001M``)."""
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number: int, suffix: str) -> str:
    index = suffixes.index(suffix)
    return f"{number / 1000 ** index:.3f}" + suffixes[index]


def convert_to_percent_str(num: int, denom: int) -> str:
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _tabulate(rows: list, headers: list, colalign: tuple) -> str:
    """``tabulate``'s "simple" format (PyTorch imports the tabulate package for this), including
    its number parsing: a column whose every cell is a number is printed with format ``"g"``
    (``"1280.000"`` becomes ``"1280"``)."""
    rows = [list(r) for r in rows]
    for i in range(len(headers)):
        if rows and all(_is_number(r[i]) for r in rows):
            for r in rows:
                r[i] = r[i] if "." not in r[i] else format(float(r[i]), "g")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if a == "left" else c.rjust(w)
                         for c, w, a in zip(cells, widths, colalign)).rstrip()
    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


class FlopCounterMode:
    """Count the FLOPs of the ops run inside the ``with`` block (``torch.utils.flop_counter``).

    Example::

        with FlopCounterMode(display=False) as counter:
            model(x).sum().backward()
        counter.get_total_flops()

    ``mods`` is accepted and ignored, as in PyTorch (module names are found as modules run);
    ``depth`` limits the module depth of the printed table; ``display`` prints it on exit;
    ``custom_mapping`` maps ``Function`` subclasses to formulas for this counter only.
    """

    def __init__(self, mods: Any = None, depth: int = 2, display: bool = True,
                 custom_mapping: dict | None = None) -> None:
        self.flop_counts: dict = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        if custom_mapping is None:
            custom_mapping = {}
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        self.custom_mapping = {k: v if getattr(v, "_get_raw", False) else shape_wrapper(v)
                               for k, v in custom_mapping.items()}
        self.mod_tracker = _ModuleTracker()
        self._backward_depth = 0   # > 0 while a node whose backward is counted by formula runs
        self._active = False

    def get_total_flops(self) -> int:
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict:
        """``{module name: {op name: FLOPs}}``, with ``"Global"`` for everything."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        if depth is None:
            depth = self.depth
        if depth is None:
            depth = 999999
        header = ["Module", "FLOP", "% Total"]
        values: list = []
        global_flops = self.get_total_flops()
        global_suffix = get_suffix_str(global_flops)
        is_global_subsumed = False

        def process_mod(mod_name: str, depth: int) -> list:
            nonlocal is_global_subsumed
            total_flops = sum(self.flop_counts[mod_name].values())
            is_global_subsumed |= total_flops >= global_flops
            padding = " " * depth
            rows = [[padding + mod_name, convert_num_with_suffix(total_flops, global_suffix),
                     convert_to_percent_str(total_flops, global_flops)]]
            for k, v in self.flop_counts[mod_name].items():
                rows.append([padding + " - " + str(k), convert_num_with_suffix(v, global_suffix),
                             convert_to_percent_str(v, global_flops)])
            return rows

        for mod in sorted(self.flop_counts.keys()):
            if mod == "Global":
                continue
            mod_depth = mod.count(".") + 1
            if mod_depth > depth:
                continue
            values.extend(process_mod(mod, mod_depth - 1))
        # "Global" is shown only when some FLOPs are outside every module
        if "Global" in self.flop_counts and not is_global_subsumed:
            for value in values:
                value[0] = " " + value[0]
            values = process_mod("Global", 0) + values
        if len(values) == 0:
            values = [["Global", "0", "0%"]]
        return _tabulate(values, header, ("left", "right", "right"))

    # -------------------------------------------------------------- the observer
    def _count(self, name: str, flops: int, parents: Any) -> None:
        for par in set(parents):
            self.flop_counts[par][name] += flops

    def _observe(self, cls: type, args: tuple, kwargs: dict, proceed: Callable) -> Any:
        out = proceed()
        if self._backward_depth:
            return out   # inside a backward counted by formula
        if cls in self.custom_mapping:
            counted = (cls.__name__, self.custom_mapping[cls](*args, **kwargs, out_val=out))
        else:
            counted = op_flops(cls, args, kwargs, out)
        parents = tuple(self.mod_tracker.parents)
        if counted is not None:
            name, flops = counted
            self._count(name if name == cls.__name__ else "aten." + name, flops, parents)
        first = _first_tensor(out)
        node = getattr(first, "grad_fn", None)
        if node is not None and type(node) is cls:
            self._watch_backward(node, cls, args, first, parents)
        return out

    def _watch_backward(self, node: Any, cls: type, args: tuple, out: Any, parents: tuple) -> None:
        """Count the node's backward under the forward's modules: by formula for ops whose backward
        is array code, else by counting the ops it runs."""
        by_formula = backward_flops(cls, args, out, node.needs_input_grad)
        saved = []

        def pre(grad_outputs):
            if not self._active:
                return None
            saved.append(self.mod_tracker.parents)
            self.mod_tracker.parents = list(parents)
            if by_formula is not None:
                self._backward_depth += 1
            return None

        def post(grad_inputs, grad_outputs):
            if not saved:
                return None
            self.mod_tracker.parents = saved.pop()
            if by_formula is not None:
                self._backward_depth -= 1
                self._count("aten." + by_formula[0], by_formula[1], parents)
            return None
        node.register_prehook(pre)
        node.register_hook(post)

    # NB: like PyTorch's, this context manager is not reentrant
    def __enter__(self) -> "FlopCounterMode":
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self._active = True
        op_hooks.add_hook(self._observe)
        return self

    def __exit__(self, *args: Any) -> None:
        op_hooks.remove_hook(self._observe)
        self._active = False
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))
        return None
