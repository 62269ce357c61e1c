"""Every name edunn shares with PyTorch takes PyTorch's arguments (DESIGN.md's contract).

For each public function of ``edunn`` (the ``__all__`` of ``edunn/ops/*`` and
``edunn.autograd.grad/backward/gradcheck``) and each public method of ``edunn.Tensor`` that also
exists in torch, PyTorch's signature is read from torch itself -- ``inspect.signature`` for
functions written in Python, else the signature lines that open the docstring (``add(input,
other, *, alpha=1, out=None) -> Tensor``, and ``.. function:: max(input, dim, ...)`` for each
further overload) -- and compared with ``inspect.signature`` of edunn's function:

* every parameter torch names must be accepted by edunn under that name;
* a parameter torch takes positionally must be positional in edunn, in the same place (a slot
  where torch's overloads disagree, ``max(input, dim)`` / ``max(input, other)``, may hold any of
  their names);
* where both defaults are plain constants, they are equal.

A few docstrings disagree with what torch itself accepts; ERRATA lists them, and SKIP the names
with no signature to read.  The second half of the file checks ``out=`` against torch.
"""
from __future__ import annotations

import ast
import inspect
import re
import warnings

import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson01, needs_torch]

OPS_MODULES = ["creation", "elementwise", "reduction", "shape", "indexing", "linalg", "sorting",
               "conversion", "gamma", "normal", "bessel", "polynomials", "decompositions", "differences",
               "covariance", "histograms", "construction",
               "scatter_views", "utilities", "windows"]
# nn.functional's kernels that torch also exports at the top level (torch.conv2d, torch.dropout ...)
TOP_LEVEL_MODULES = ["edunn.nn._top_level"]
NAMESPACES = ["special", "linalg"]  # edunn.special against torch.special, edunn.linalg against torch.linalg

POS, KW, VAR, VARKW = "positional", "keyword-only", "*args", "**kwargs"
NO_DEFAULT = object()
OPAQUE = object()  # a default that is not a plain constant (``torch.strided``): not compared

# Names torch has but gives no signature for: builtins whose docstring is missing, or does not
# open with a signature line.
SKIP = {
    "Tensor.split_with_sizes": "undocumented method (torch.Tensor.split_with_sizes.__doc__ is None); tested against torch in tests/test_tensor_methods_extra.py",
    "Tensor.unsafe_split_with_sizes": "undocumented method; tested against torch in tests/test_tensor_methods_extra.py",
    "clamp_min": "undocumented builtin (torch.clamp_min.__doc__ is None); edunn: clamp_min(input, min)",
    "clamp_max": "undocumented builtin (torch.clamp_max.__doc__ is None); edunn: clamp_max(input, max)",
    "index_fill": "undocumented builtin function (only Tensor.index_fill is documented)",
    "index_put": "undocumented builtin function (only Tensor.index_put is documented)",
    "masked_fill": "undocumented builtin function (only Tensor.masked_fill is documented)",
    "masked_scatter": "undocumented builtin function (only Tensor.masked_scatter is documented)",
    "put": "undocumented builtin function (only Tensor.put is documented)",
    "relu": "undocumented builtin (torch.relu is nn.functional.relu's kernel)",
    # undocumented builtins; their keyword names (checked by calling torch with them) are tested in
    # tests/ops/test_scatter_views.py::test_undocumented_builtins_take_torchs_keywords
    "rsub": "undocumented builtin: rsub(input, other, *, alpha=1) / rsub(input, Number other, Number alpha=1)",
    "scalar_tensor": "undocumented builtin: scalar_tensor(s, *, dtype=None, layout=None, device=None, ...)",
    "is_same_size": "undocumented builtin: is_same_size(input, other)",
    # undocumented native kernels; checked against their aten schemas in
    # tests/ops/test_toplevel_nn_kernels.py::test_kernels_take_the_native_schemas_arguments
    **{n: "undocumented native kernel (aten schema checked in test_toplevel_nn_kernels.py)"
       for n in ("embedding_bag", "conv_tbc", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d",
                 "affine_grid_generator", "lstm_cell",
                 "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "native_layer_norm", "native_group_norm",
                 "native_batch_norm", "native_dropout", "convolution", "rnn_tanh", "rnn_relu", "lstm", "gru")},
    "resize_as_": "undocumented builtin; its aten schema is checked in tests/ops/test_toplevel_extra.py",
    "Tensor.index_reduce": "Tensor.index_reduce's docstring opens with no signature line; edunn: index_reduce(dim, index, source, reduce, *, include_self=True), compared with torch in tests/test_tensor_methods_extra.py",
    "Tensor.map2_": "undocumented builtin: map2_(x, y, callable)",
    "Tensor.new": "undocumented builtin: the legacy constructor new(*args, device=None)",
    "Tensor.prelu": "undocumented builtin: prelu(weight)",
    "is_signed": "undocumented builtin: is_signed(input)",
    "detach": "undocumented builtin: detach(input)",
    "zero_": "undocumented builtin: zero_(input)",
    "fill": "undocumented builtin: fill(input, value)",
    "fill_": "undocumented builtin: fill_(input, value)",
    # nn.functional's kernels at the top level (edunn/nn/_top_level.py) with no docstring; their
    # native signatures (aten schemas, checked by calling torch: `torch.dropout(x, 0.5)` raises
    # "missing ... train", `torch.embedding(w, input=i)` raises "missing ... indices") are tested
    # in tests/nn/test_top_level_aliases.py
    **{n: "undocumented builtin (an nn.functional kernel at the top level)" for n in (
        "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "adaptive_max_pool1d",
        "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
        "feature_alpha_dropout", "feature_alpha_dropout_", "batch_norm", "instance_norm", "layer_norm",
        "group_norm", "rms_norm", "embedding", "selu", "celu", "rrelu", "threshold", "constant_pad_nd",
        "kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss",
        "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss")},
    "Tensor.clamp_min": "undocumented builtin method", "Tensor.clamp_min_": "undocumented builtin method",
    "Tensor.clamp_max": "undocumented builtin method", "Tensor.clamp_max_": "undocumented builtin method",
    "Tensor.relu": "undocumented builtin method", "Tensor.relu_": "undocumented builtin method",
    "Tensor.log_softmax": "undocumented builtin method",
    "Tensor.detach": "docstring is prose, no signature line (it takes no arguments)",
    "Tensor.detach_": "docstring is prose, no signature line (it takes no arguments)",
    "Tensor.is_pinned": "docstring is prose, no signature line (it takes no arguments)",
    "Tensor.is_nonzero": "undocumented builtin method (x.is_nonzero() takes no arguments)",
    "Tensor.is_same_size": "undocumented builtin method (x.is_same_size(other))",
}

# Doc signatures that torch itself contradicts: (what the docstring says, what torch accepts).
# Each was checked by calling torch: ``x.mul(value=2)`` raises "missing 1 required positional
# argument: other", ``x.sum(0, False, torch.float64)`` raises "takes from 1 to 2 positional
# arguments", and so on.  The test fails if a docstring no longer says the first string, so a
# fixed docstring retires its entry.
ERRATA = {
    "Tensor.mul": ("mul(value)", "mul(other)"),
    "Tensor.multiply": ("multiply(value)", "multiply(other)"),
    "Tensor.div": ("div(value, *, rounding_mode=None)", "div(other, *, rounding_mode=None)"),
    "Tensor.divide": ("divide(value, *, rounding_mode=None)", "divide(other, *, rounding_mode=None)"),
    "Tensor.true_divide": ("true_divide(value)", "true_divide(other)"),
    "Tensor.floor_divide": ("floor_divide(value)", "floor_divide(other)"),
    "Tensor.fmod": ("fmod(divisor)", "fmod(other)"),
    "Tensor.remainder": ("remainder(divisor)", "remainder(other)"),
    "Tensor.matmul": ("matmul(tensor2)", "matmul(other)"),
    "Tensor.bmm": ("bmm(batch2)", "bmm(mat2)"),
    "Tensor.take": ("take(indices)", "take(index)"),
    "Tensor.type_as": ("type_as(tensor)", "type_as(other)"),
    "Tensor.narrow": ("narrow(dimension, start, length)", "narrow(dim, start, length)"),
    "Tensor.where": ("where(condition, y)", "where(condition, other)"),
    "Tensor.index_copy": ("index_copy(dim, index, tensor2)", "index_copy(dim, index, source)"),
    "Tensor.dot": ("dot(other)", "dot(tensor)"),
    "Tensor.masked_scatter": ("masked_scatter(mask, tensor)", "masked_scatter(mask, source)"),
    # in-place forms document the same wrong names as their out-of-place forms
    "Tensor.mul_": ("mul_(value)", "mul_(other)"),
    "Tensor.multiply_": ("multiply_(value)", "multiply_(other)"),
    "Tensor.div_": ("div_(value, *, rounding_mode=None)", "div_(other, *, rounding_mode=None)"),
    "Tensor.divide_": ("divide_(value, *, rounding_mode=None)", "divide_(other, *, rounding_mode=None)"),
    "Tensor.true_divide_": ("true_divide_(value)", "true_divide_(other)"),
    "Tensor.floor_divide_": ("floor_divide_(value)", "floor_divide_(other)"),
    "Tensor.fmod_": ("fmod_(divisor)", "fmod_(other)"),
    "Tensor.remainder_": ("remainder_(divisor)", "remainder_(other)"),
    "Tensor.index_copy_": ("index_copy_(dim, index, tensor)", "index_copy_(dim, index, source)"),
    # dtype is keyword-only in torch (the functional docs say so; the method docs do not)
    "Tensor.sum": ("sum(dim=None, keepdim=False, dtype=None)", "sum(dim=None, keepdim=False, *, dtype=None)"),
    "Tensor.prod": ("prod(dim=None, keepdim=False, dtype=None)", "prod(dim=None, keepdim=False, *, dtype=None)"),
    "Tensor.nansum": ("nansum(dim=None, keepdim=False, dtype=None)", "nansum(dim=None, keepdim=False, *, dtype=None)"),
    "Tensor.cumsum": ("cumsum(dim, dtype=None)", "cumsum(dim, *, dtype=None)"),
    "Tensor.cumsum_": ("cumsum_(dim, dtype=None)", "cumsum_(dim, *, dtype=None)"),
    "Tensor.cumprod": ("cumprod(dim, dtype=None)", "cumprod(dim, *, dtype=None)"),
    "Tensor.cumprod_": ("cumprod_(dim, dtype=None)", "cumprod_(dim, *, dtype=None)"),
    # the method's own tensor documented as an argument (``x.atanh_()`` takes none; ``x.put(index,
    # source)`` is how torch is called)
    "Tensor.atanh_": ("atanh_(other)", "atanh_()"),
    "Tensor.arctanh_": ("arctanh_(other)", "arctanh_()"),
    "Tensor.put": ("put(input, index, source, accumulate=False)", "put(index, source, accumulate=False)"),
    "Tensor.frexp": ("frexp(input)", "frexp()"),
    # a C++ type left in the docstring
    "linalg.lu_factor": ("lu_factor(A, *, bool pivot=True, out=None)", "lu_factor(A, *, pivot=True, out=None)"),
    "Tensor.histogram": ("histogram(input, bins, *, range=None, weight=None, density=False)",
                         "histogram(bins, *, range=None, weight=None, density=False)"),
    "Tensor.round": ("round(decimals=0)", "round(*, decimals=0)"),
    "Tensor.round_": ("round_(decimals=0)", "round_(*, decimals=0)"),
    # torch.hsplit(x, indices_or_sections=3) raises; the overloads are sections= and indices=
    "hsplit": ("hsplit(input, indices_or_sections)", "hsplit(input, sections)"),
    "vsplit": ("vsplit(input, indices_or_sections)", "vsplit(input, sections)"),
    "dsplit": ("dsplit(input, indices_or_sections)", "dsplit(input, sections)"),
    "tensor_split": ("tensor_split(input, indices_or_sections, dim=0)", "tensor_split(input, sections, dim=0)"),
    "Tensor.tensor_split": ("tensor_split(indices_or_sections, dim=0)", "tensor_split(sections, dim=0)"),
    "true_divide": ("true_divide(dividend, divisor, *, out)", "true_divide(input, other, *, out=None)"),
    # torch.searchsorted(s, values=v) raises: the parameter is `input` ("self" in the schema)
    "searchsorted": ("searchsorted(sorted_sequence, values, *,", "searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, out=None, sorter=None)"),
    # out is keyword-only: torch.concatenate([x, y], 0, o) raises
    "concatenate": ("concatenate(tensors, axis=0, out=None)", "concatenate(tensors, axis=0, *, out=None)"),
    # `pow(self, exponent)` is the number ** tensor overload; edunn's pow(input, exponent) takes
    # a number as input (torch.pow(2, x) works in both)
    "pow": (".. function:: pow(self, exponent, *, out=None)", "pow(input, exponent, *, out=None)"),
    # dim=None is rejected ("argument 'dim' must be int, not NoneType"): the default is -1
    "kthvalue": ("kthvalue(input, k, dim=None,", "kthvalue(input, k, dim=-1, keepdim=False, *, out=None)"),
    "topk": ("topk(input, k, dim=None,", "topk(input, k, dim=-1, largest=True, sorted=True, *, out=None)"),
    "Tensor.kthvalue": ("kthvalue(k, dim=None,", "kthvalue(k, dim=-1, keepdim=False)"),
    "Tensor.topk": ("topk(k, dim=None,", "topk(k, dim=-1, largest=True, sorted=True)"),
    "Tensor.mode": ("mode(dim=None,", "mode(dim=-1, keepdim=False)"),
    # correction=None is torch's real default (it means 1 unless `unbiased` says otherwise)
    "std": ("correction=1", "std(input, dim=None, *, correction=None, keepdim=False, out=None)"),
    "var": ("correction=1", "var(input, dim=None, *, correction=None, keepdim=False, out=None)"),
    "std_mean": ("correction=1", "std_mean(input, dim=None, *, correction=None, keepdim=False, out=None)"),
    "var_mean": ("correction=1", "var_mean(input, dim=None, *, correction=None, keepdim=False, out=None)"),
    "Tensor.std": ("std(dim=None, *, correction=1", "std(dim=None, *, correction=None, keepdim=False)"),
    "Tensor.var": ("var(dim=None, *, correction=1", "var(dim=None, *, correction=None, keepdim=False)"),
}

# Mismatches left on purpose, each with its reason; the test fails once one is fixed (remove it).
KNOWN_GAPS: dict = {}  # "name": "problems -- why", for a mismatch that cannot be fixed yet

# Python keywords cannot be parameter names: torch's `from` is edunn's `from_` (random_, uniform_).
KEYWORD_RENAMES = {"from": "from_"}

_SIG_LINE = re.compile(r"^(?:\.\. (?:function|method):: )?(?:torch\.)?(?:Tensor\.|linalg\.|special\.)?([A-Za-z_]\w*)\(")


# ----------------------------------------------------------------------------------------------
# reading signatures
# ----------------------------------------------------------------------------------------------
def _balanced(line: str, start: int) -> str:
    """The text between the parenthesis at ``start`` and its match."""
    depth = 0
    for i in range(start, len(line)):
        depth += {"(": 1, ")": -1}.get(line[i], 0)
        if depth == 0:
            return line[start + 1:i]
    raise ValueError(f"unbalanced parentheses in {line!r}")


def _split_top(text: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + ([cur.strip()] if cur.strip() else [])


def parse_params(text: str) -> list:
    """``"input, dim=None, *, out=None"`` -> [(name, kind, default)]."""
    params, kwonly = [], False
    for p in _split_top(text.replace("\\*", "*")):
        if p == "*":
            kwonly = True
        elif p.startswith("**"):
            params.append((p[2:], VARKW, NO_DEFAULT))
        elif p.startswith("*"):
            params.append((p[1:], VAR, NO_DEFAULT))
            kwonly = True
        else:
            name, eq, default = p.partition("=")
            name = KEYWORD_RENAMES.get(name.split(":")[0].strip(), name.split(":")[0].strip())
            if not name.isidentifier():
                raise ValueError(f"cannot read parameter {p!r}")
            params.append((name, KW if kwonly else POS, _constant(default) if eq else NO_DEFAULT))
    return params


def _constant(text: str):
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return OPAQUE


def from_inspect(fn) -> list:
    kinds = {inspect.Parameter.POSITIONAL_ONLY: POS, inspect.Parameter.POSITIONAL_OR_KEYWORD: POS,
             inspect.Parameter.KEYWORD_ONLY: KW, inspect.Parameter.VAR_POSITIONAL: VAR,
             inspect.Parameter.VAR_KEYWORD: VARKW}
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self" and not out:
            continue
        d = NO_DEFAULT if p.default is p.empty else _constant(repr(p.default))
        out.append((p.name, kinds[p.kind], d))
    return out


def _signature_line(line: str):
    """(name, parameter text) if ``line`` is a signature line: ``name(...)``, then nothing but
    an optional ``-> result``."""
    m = _SIG_LINE.match(line)
    if not m:
        return None
    try:
        params = _balanced(line, m.end() - 1)
    except ValueError:
        return None
    rest = line[m.end() + len(params) + 1:].strip()
    return (m.group(1), params) if rest == "" or rest.startswith("->") else None


def torch_signatures(key: str, obj, name: str) -> list:
    """Torch's overloads of ``name``, each a parameter list (``self`` left out)."""
    try:
        return [from_inspect(obj)]
    except (ValueError, TypeError):
        pass
    lines = []
    for line in (obj.__doc__ or "").splitlines():
        sig = _signature_line(line)
        if sig:
            lines.append(sig + (line,))
    own = [ln for ln in lines if ln[0] == name] or lines[:1]  # an alias documents its target
    sigs = []
    for _, params, line in own:
        if key in ERRATA and ERRATA[key][0] in line:
            fixed = ERRATA[key][1]
            params = _balanced(fixed, fixed.index("("))
        sigs.append(parse_params(params))
    return sigs


# ----------------------------------------------------------------------------------------------
# comparing
# ----------------------------------------------------------------------------------------------
def mismatches(edunn_fn, overloads: list) -> list:
    ours = from_inspect(edunn_fn)
    by_name = {p[0]: p for p in ours}
    has_kwargs = any(k == VARKW for _, k, _ in ours)
    our_positional = [p for p in ours if p[1] in (POS, VAR)]
    slot_names: dict = {}  # position -> the names torch's overloads give it
    for sig in overloads:
        for i, p in enumerate(p for p in sig if p[1] == POS):
            slot_names.setdefault(i, set()).add(p[0])
    problems = set()
    for sig in overloads:
        torch_positional = [p[0] for p in sig if p[1] == POS]
        for i, (name, kind, default) in enumerate(sig):
            if kind in (VAR, VARKW):
                continue
            if name not in by_name:
                if not has_kwargs:
                    problems.add(f"missing parameter {name!r}")
                continue
            _, our_kind, our_default = by_name[name]
            if kind == POS:
                j = torch_positional.index(name)
                slot_taken = j < len(our_positional) and (our_positional[j][1] == VAR
                                                          or our_positional[j][0] in slot_names[j])
                if our_kind == KW and not slot_taken:  # scatter_(dim, index, src | value)
                    problems.add(f"{name!r} is keyword-only (torch: positional #{j})")
                elif our_kind == KW or (j < len(our_positional) and our_positional[j][1] == VAR):
                    pass
                elif j >= len(our_positional) or our_positional[j][0] not in slot_names[j]:
                    problems.add(f"{name!r} is not positional #{j} as in torch")
            # `arange(start=0, end, ...)`: a default before a required parameter is notation
            notation = kind == POS and any(d is NO_DEFAULT for _, k, d in sig[i + 1:] if k == POS)
            # `median(input)` / `median(input, dim=-1)`: leaving dim out picks the first overload
            unreachable = any(name not in (p[0] for p in other) for other in overloads)
            if default not in (NO_DEFAULT, OPAQUE) and not notation and not unreachable:
                if our_default is NO_DEFAULT:
                    problems.add(f"{name!r} is required (torch: default {default!r})")
                elif our_default is not OPAQUE and our_default != default:
                    problems.add(f"{name!r} defaults to {our_default!r} (torch: {default!r})")
    return sorted(problems)


def _shared_names() -> list:
    """(key, edunn object, torch object, name) for every name both libraries have."""
    names = set()
    for module in [f"edunn.ops.{m}" for m in OPS_MODULES] + TOP_LEVEL_MODULES:
        names.update(__import__(module, fromlist=["__all__"]).__all__)
    out = [(n, getattr(edunn, n), getattr(torch, n), n) for n in sorted(names) if hasattr(torch, n)]
    out += [(f"{space}.{n}", getattr(getattr(edunn, space), n), getattr(getattr(torch, space), n), n)
            for space in NAMESPACES for n in getattr(edunn, space).__all__]
    out += [(f"autograd.{n}", getattr(edunn.autograd, n), getattr(torch.autograd, n), n)
            for n in ("grad", "backward", "gradcheck")]
    out += [(f"Tensor.{n}", getattr(edunn.Tensor, n), getattr(torch.Tensor, n), n)
            for n in sorted(dir(edunn.Tensor))
            if not n.startswith("_") and callable(getattr(edunn.Tensor, n, None))
            and callable(getattr(torch.Tensor, n, None))]
    return out


SHARED = _shared_names()


def test_every_shared_name_takes_torchs_arguments():
    report, checked = [], 0
    for key, ours, theirs, name in SHARED:
        if key in SKIP:
            continue
        overloads = torch_signatures(key, theirs, name)
        if not overloads:
            report.append(f"{key}: torch gives no signature (add it to SKIP with the reason)")
            continue
        checked += 1
        problems = "; ".join(mismatches(ours, overloads))
        if key in KNOWN_GAPS:
            if problems != KNOWN_GAPS[key].split(" -- ")[0]:
                report.append(f"{key}: now {problems or 'matches'}; update KNOWN_GAPS")
        elif problems:
            report.append(f"{key}: {problems}")
    assert checked > 500, f"only {checked} names checked: is the name collection broken?"
    assert not report, f"{len(report)} of {checked} names differ from torch:\n" + "\n".join(report)


def test_skip_and_errata_entries_are_still_needed():
    keys = {key: (theirs, name) for key, _, theirs, name in SHARED}
    stale = [k for k in list(SKIP) + list(ERRATA) + list(KNOWN_GAPS) if k not in keys]
    for key, (wrong, _) in ERRATA.items():
        if key in keys and wrong not in (keys[key][0].__doc__ or ""):
            stale.append(f"{key} (its docstring no longer says {wrong!r})")
    for key in SKIP:
        if key in keys:
            theirs, name = keys[key]
            if any(_signature_line(ln) for ln in (theirs.__doc__ or "").splitlines()):
                stale.append(f"{key} (torch documents it now)")
    assert not stale, "stale SKIP/ERRATA entries: " + ", ".join(stale)


def test_the_reader_understands_torchs_notation():
    assert parse_params("*size, *, out=None, layout=torch.strided") == [
        ("size", VAR, NO_DEFAULT), ("out", KW, None), ("layout", KW, OPAQUE)]
    assert torch_signatures("sort", torch.sort, "sort")[0][:3] == [
        ("input", POS, NO_DEFAULT), ("dim", POS, -1), ("descending", POS, False)]
    assert len(torch_signatures("max", torch.max, "max")) >= 3

    def f(input, dim, *, keepdim=True):
        return input
    assert mismatches(f, [parse_params("input, dim=None, keepdim=False, *, out=None")]) == [
        "'dim' is required (torch: default None)", "'keepdim' defaults to True (torch: False)",
        "'keepdim' is keyword-only (torch: positional #2)", "missing parameter 'out'"]


# ----------------------------------------------------------------------------------------------
# out=, against torch
# ----------------------------------------------------------------------------------------------
def _data(fw):
    a = fw.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    b = fw.tensor([[1.0, 2.0, -0.5], [0.5, -1.5, 3.0]])
    return a, b


# name -> (call taking (fw, a, b, out), how to make the out tensor(s) from fw)
OUT_CASES = {
    "add": (lambda fw, a, b, out: fw.add(a, b, alpha=2, out=out), lambda fw: fw.empty(2, 3)),
    "mul_int_into_float": (lambda fw, a, b, out: fw.mul(a.long(), 3, out=out), lambda fw: fw.empty(2, 3)),
    "exp_resized": (lambda fw, a, b, out: fw.exp(a, out=out), lambda fw: fw.empty(0)),
    "sum_dim": (lambda fw, a, b, out: fw.sum(a, 1, out=out), lambda fw: fw.empty(2)),
    "matmul": (lambda fw, a, b, out: fw.matmul(a, b.t(), out=out), lambda fw: fw.empty(2, 2)),
    "cat": (lambda fw, a, b, out: fw.cat([a, b], 0, out=out), lambda fw: fw.empty(4, 3)),
    "stack": (lambda fw, a, b, out: fw.stack([a, b], 1, out=out), lambda fw: fw.empty(2, 2, 3)),
    "where": (lambda fw, a, b, out: fw.where(a > 0, a, b, out=out), lambda fw: fw.empty(2, 3)),
    "eq_bool": (lambda fw, a, b, out: fw.eq(a, b, out=out), lambda fw: fw.empty(2, 3, dtype=fw.bool)),
    "zeros_int": (lambda fw, a, b, out: fw.zeros(2, 3, out=out), lambda fw: fw.empty(2, 3, dtype=fw.int64)),
    "arange_double": (lambda fw, a, b, out: fw.arange(4, out=out), lambda fw: fw.empty(4, dtype=fw.float64)),
    "sort": (lambda fw, a, b, out: fw.sort(a, 1, out=out),
             lambda fw: (fw.empty(2, 3), fw.empty(2, 3, dtype=fw.int64))),
    "max_dim": (lambda fw, a, b, out: fw.max(a, 0, out=out),
                lambda fw: (fw.empty(3), fw.empty(3, dtype=fw.int64))),
}


@pytest.mark.parametrize("name", list(OUT_CASES))
def test_out_writes_into_the_given_tensor_like_torch(name):
    call, make_out = OUT_CASES[name]
    results = {}
    for fw in (edunn, torch):
        out = make_out(fw)
        views = [o.view(-1) for o in (out if isinstance(out, tuple) else (out,))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resizing a non-empty out warns in both
            got = call(fw, *_data(fw), out)
        outs = out if isinstance(out, tuple) else (out,)
        gots = tuple(got) if isinstance(out, tuple) else (got,)
        assert all(g is o for g, o in zip(gots, outs)), f"{name}: did not return out itself"
        for v, o in zip(views, outs):  # values land in out's storage, where views see them
            if v.numel() == o.numel():  # (a resized out has new storage)
                assert v.tolist() == o.reshape(-1).tolist()
        results[fw.__name__] = outs
    for ours, theirs in zip(results["edunn"], results["torch"]):
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert_close(ours, theirs)


def test_out_bumps_the_version():
    a, b = _data(edunn)
    out = edunn.empty(2, 3)
    v = out._version
    edunn.add(a, b, out=out)
    assert out._version == v + 1


def test_out_refuses_autograd_like_torch():
    for fw in (edunn, torch):
        a = fw.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            fw.add(a, 1, out=fw.empty(3))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            fw.sort(a, out=(fw.empty(3), fw.empty(3, dtype=fw.int64)))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            fw.add(fw.ones(3), 1, out=fw.empty(3, requires_grad=True))
        with fw.no_grad():
            assert fw.add(a, 1, out=fw.empty(3)).tolist() == [2.0, 2.0, 2.0]
        assert not fw.eq(a, 1, out=fw.empty(3, dtype=fw.bool)).requires_grad  # not differentiable


def test_out_resize_warns_only_when_out_held_elements():
    for fw in (edunn, torch):
        with pytest.warns(UserWarning, match="resized"):
            assert fw.add(fw.ones(3), 1, out=fw.empty(2)).shape == (3,)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fw.add(fw.ones(3), 1, out=fw.empty(0)).shape == (3,)


def test_out_dtype_rules_like_torch():
    for fw in (edunn, torch):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            fw.add(fw.ones(3), 1, out=fw.empty(3, dtype=fw.int64))
        with pytest.raises(RuntimeError, match="dtype"):  # the indices of sort must be int64
            fw.sort(fw.ones(3), out=(fw.empty(3), fw.empty(3)))
        with pytest.raises(RuntimeError, match="does not match dtype of out"):
            fw.zeros(3, dtype=fw.float32, out=fw.empty(3, dtype=fw.int64))


# ----------------------------------------------------------------------------------------------
# the other arguments this test made edunn take, against torch
# ----------------------------------------------------------------------------------------------
ARG_CASES = {
    "max_other": lambda fw, a, b: fw.max(a, other=b),
    "min_other": lambda fw, a, b: fw.min(a, other=b),
    "swapaxes": lambda fw, a, b: fw.swapaxes(a, axis0=0, axis1=1),
    "Tensor.swapaxes": lambda fw, a, b: a.swapaxes(axis0=1, axis1=0),
    "tensor_split_sections": lambda fw, a, b: fw.stack(fw.tensor_split(a, sections=3, dim=1)),
    "tensor_split_indices": lambda fw, a, b: fw.cat(fw.tensor_split(a, indices=[1], dim=1), 1),
    "Tensor.tensor_split": lambda fw, a, b: fw.stack(a.tensor_split(sections=2)),
    "dot_tensor": lambda fw, a, b: fw.dot(a[0], tensor=b[0]),
    "Tensor.dot": lambda fw, a, b: a[0].dot(tensor=b[0]),
    "concatenate_axis": lambda fw, a, b: fw.concatenate([a, b], axis=1),
    "amax_none": lambda fw, a, b: fw.amax(a, dim=None),
    "Tensor.amin_none": lambda fw, a, b: a.amin(dim=None),
    "norm_dtype": lambda fw, a, b: fw.norm(a, 2, None, False, None, fw.float64),
    "view_dtype": lambda fw, a, b: a.view(dtype=fw.int32),
    "float_memory_format": lambda fw, a, b: a.long().float(memory_format=torch.preserve_format),
    "zeros_layout": lambda fw, a, b: fw.zeros(2, layout=torch.strided, pin_memory=False),
    "new_ones_layout": lambda fw, a, b: a.new_ones(2, layout=torch.strided, pin_memory=False),
    # torch implements out_dtype on CUDA only; on the CPU the same product is bf16 inputs in fp32
    "mm_out_dtype": lambda fw, a, b: fw.mm(a.bfloat16(), b.t().bfloat16(), out_dtype=fw.float32)
    if fw is edunn else fw.mm(a.bfloat16().float(), b.t().bfloat16().float()),
}


@pytest.mark.parametrize("name", list(ARG_CASES))
def test_newly_taken_arguments_match_torch(name):
    results = []
    for fw in (edunn, torch):
        got = ARG_CASES[name](fw, *_data(fw))
        results.append(got)
    assert str(results[0].dtype).split(".")[-1] == str(results[1].dtype).split(".")[-1]
    assert_close(results[0], results[1])


def test_asarray_copy_and_requires_grad_like_torch():
    np = pytest.importorskip("numpy")
    for fw in (edunn, torch):
        a = np.arange(3.0)
        t = fw.asarray(a)
        a[0] = 9.0
        assert t[0].item() == 9.0  # shared
        c = fw.asarray(a, copy=True)
        a[1] = 7.0
        assert c[1].item() == 1.0  # copied
        with pytest.raises((ValueError, RuntimeError)):
            fw.asarray([1.0, 2.0], copy=False) if fw is edunn else fw.asarray(a, dtype=fw.float32, copy=False)
        x = fw.ones(2, requires_grad=True)
        assert fw.asarray(x, requires_grad=True).requires_grad
        assert not fw.asarray(x * 2, requires_grad=False).requires_grad


def test_mm_out_dtype_and_sparse_layout_are_checked():
    a = edunn.ones(2, 2)
    with pytest.raises(RuntimeError, match="out_dtype"):
        edunn.mm(a, a, out_dtype=edunn.float16)
    with pytest.raises(RuntimeError, match="layout"):
        edunn.zeros(2, layout=torch.sparse_coo)
