"""edunn.func.vmap and edunn.func.rearrange, compared with torch.func on the same functions:
in_dims/out_dims pytrees, None, nesting, composition with grad/jacrev, chunk_size, the three
randomness modes and torch's error messages; rearrange's pattern language."""
import numpy as np
import pytest

import edunn
import edunn.func as F
from opcheck import needs_torch, torch
from test_func import _close, _pair

pytestmark = needs_torch
TF = torch.func if torch is not None else None


def test_in_dims_out_dims_pytrees_and_none():
    x, tx = _pair(3, 4, seed=1)
    y, ty = _pair(4, 3, seed=2)
    z, tz = _pair(4, seed=3)

    def f(p, scale, c):
        return {"sum": p["a"] * p["b"][0] + c, "prod": (p["a"] * scale).sin()}, p["a"].sum()

    args = ({"a": x, "b": [y]}, 2.0, z)
    targs = ({"a": tx, "b": [ty]}, 2.0, tz)
    in_dims = ({"a": 0, "b": [1]}, None, None)
    out_dims = ({"sum": 1, "prod": -1}, 0)
    _close(F.vmap(f, in_dims, out_dims)(*args), TF.vmap(f, in_dims, out_dims)(*targs))
    # a bare int in_dims applies to every tensor; negative dims count from the end
    _close(F.vmap(lambda a, b: a @ b, in_dims=(1, -2))(x, y), TF.vmap(lambda a, b: a @ b, in_dims=(1, -2))(tx, ty))
    # out_dims=None for an output that does not depend on the batch; kwargs are not batched
    g = lambda a, k: (a * k, edunn.ones(2) if isinstance(a, edunn.Tensor) else torch.ones(2))  # noqa: E731
    _close(F.vmap(g, out_dims=(0, None))(x, k=3.0), TF.vmap(g, out_dims=(0, None))(tx, k=3.0))


def test_nested_vmap_and_composition_with_grad_and_jacrev():
    x, tx = _pair(2, 3, 4, seed=4)
    f = lambda a: (a.exp() * a).sum()  # noqa: E731
    _close(F.vmap(F.vmap(f))(x), TF.vmap(TF.vmap(f))(tx))
    _close(F.vmap(F.vmap(f, in_dims=1), in_dims=2)(x), TF.vmap(TF.vmap(f, in_dims=1), in_dims=2)(tx))
    _close(F.vmap(F.grad(f))(x), TF.vmap(TF.grad(f))(tx))
    _close(F.vmap(F.jacrev(lambda a: a.sin() * a.sum()))(x[0]), TF.vmap(TF.jacrev(lambda a: a.sin() * a.sum()))(tx[0]))
    # gradients flow through vmap's slicing and stacking
    _close(F.grad(lambda a: F.vmap(f)(a).sum())(x), TF.grad(lambda a: TF.vmap(f)(a).sum())(tx))
    w = x.clone().requires_grad_()
    F.vmap(lambda a: a * a)(w).sum().backward()
    _close(w.grad, 2 * tx)


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5])
def test_chunk_size_does_not_change_the_result(chunk_size):
    x, tx = _pair(5, 3, seed=5)
    _close(F.vmap(lambda a: a.cumsum(0), chunk_size=chunk_size)(x), TF.vmap(lambda a: a.cumsum(0), chunk_size=chunk_size)(tx))


def test_randomness_modes():
    x = edunn.zeros(4, 3)
    msg = ("vmap: called random operation while in randomness error mode. Please either use the 'same' or "
           "'different' randomness flags on vmap or perform the randomness operation out of vmap")
    for op in (lambda a: a + edunn.rand(3), lambda a: edunn.nn.functional.dropout(a + 1, 0.5),
               lambda a: a + edunn.randn_like(a)):
        with pytest.raises(RuntimeError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            F.vmap(op)(x)
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
        F.vmap(lambda b: F.vmap(lambda a: a + edunn.rand(()), randomness="different")(b))(x)
    # no guard is left behind: random ops work again outside vmap
    assert edunn.backend.random_draw_hook is None and edunn.rand(2).shape == (2,)
    same = F.vmap(lambda a: a + edunn.rand(3), randomness="same")(x)
    assert all(np.array_equal(same[i].numpy(), same[0].numpy()) for i in range(4))
    diff = F.vmap(lambda a: a + edunn.rand(3), randomness="different")(x)
    assert len({tuple(r) for r in diff.numpy().tolist()}) == 4
    # torch agrees on the structure of both modes
    ts = TF.vmap(lambda a: a + torch.rand(3), randomness="same")(torch.zeros(4, 3))
    assert all(torch.equal(ts[i], ts[0]) for i in range(4))
    # 'same' inside 'different': equal inside each outer slice, different across them
    nested = F.vmap(lambda b: F.vmap(lambda a: a + edunn.rand(()), randomness="same")(b),
                    randomness="different")(edunn.zeros(3, 2))
    assert all(nested[i, 0].item() == nested[i, 1].item() for i in range(3))
    assert len({nested[i, 0].item() for i in range(3)}) == 3
    twice_same = F.vmap(lambda b: F.vmap(lambda a: a + edunn.rand(()), randomness="same")(b),
                        randomness="same")(edunn.zeros(3, 2))
    assert len(set(twice_same.numpy().ravel().tolist())) == 1
    with pytest.raises(RuntimeError, match="Only allowed values for randomness are 'error', 'different', or 'same'. Got bad"):
        F.vmap(lambda a: a, randomness="bad")


def test_vmap_errors_as_torch():
    x, _ = _pair(3, 4)

    def check(exc, msg, call):
        with pytest.raises(exc) as info:
            call()
        assert msg in str(info.value), str(info.value)

    check(ValueError, "vmap: Expected all tensors to have the same size in the mapped dimension, got sizes [3, 2] "
          "for the mapped dimension", lambda: F.vmap(lambda a, b: a)(x, edunn.ones(2, 4)))
    check(ValueError, "vmap(<lambda>, in_dims=2, ...)(<inputs>): Got in_dim=2 for some input, but that input is a "
          "Tensor of dimensionality 2 so expected in_dim to satisfy -2 <= in_dim < 2.", lambda: F.vmap(lambda a: a, in_dims=2)(x))
    check(ValueError, "in_dims is not compatible with the structure of `inputs`", lambda: F.vmap(lambda a: a, in_dims=(0, 0))(x))
    check(ValueError, "vmap(<lambda>, ...): `<lambda>` must only return Tensors, got type <class 'int'>. Did you mean "
          "to set out_dims= to None for output?", lambda: F.vmap(lambda a: 3)(x))
    check(IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 3)",
          lambda: F.vmap(lambda a: a, out_dims=3)(x))
    check(ValueError, "expected `in_dims` to be int or a (potentially nested) tuple matching the structure of inputs, "
          "got: <class 'str'>.", lambda: F.vmap(lambda a: a, in_dims="a")(x))
    check(ValueError, "Got in_dim=0 for an input but the input is of type <class 'int'>. We cannot vmap over "
          "non-Tensor arguments, please use None as the respective in_dim", lambda: F.vmap(lambda a: a)(3))
    check(ValueError, "Got in_dim=1.5 for an input but in_dim must be either an integer dimension or None.",
          lambda: F.vmap(lambda a: a, in_dims=(1.5,))(x))
    check(ValueError, "vmap(<lambda>)(<inputs>): got no inputs.", lambda: F.vmap(lambda: 1)())
    check(ValueError, "vmap: Expected at least one Tensor to vmap over", lambda: F.vmap(lambda a: a, in_dims=(None,))(x))
    check(ValueError, "out_dims is not compatible with the structure of `outputs`",
          lambda: F.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x))
    check(ValueError, "`out_dims` must be an int, None or a python collection of ints",
          lambda: F.vmap(lambda a: a, out_dims="a"))
    check(ValueError, "`<lambda>` can not return a BatchedTensor when out_dim is None",
          lambda: F.vmap(lambda a: a, out_dims=None)(x))
    check(ValueError, "vmap: chunk_size should be None or greater than 0. (got 0)", lambda: F.vmap(lambda a: a, chunk_size=0))


# -------------------------------------------------------------------------------------- rearrange
PATTERNS = [("b h w c -> b h w c", {}), ("b h w c -> (b h) w c", {}), ("b h w c -> h (b w) c", {}),
            ("b h w c -> b c h w", {}), ("b h w c -> b (c h w)", {}),
            ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
            ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}), ("... c -> c ...", {}),
            ("b ... -> b (...)", {}), ("b h w c -> b h w 1 c", {}), ("b h ... -> (h b) ...", {}),
            ("b h w c -> b h w (c 1)", {})]


@pytest.mark.parametrize("pattern,lengths", PATTERNS, ids=[p for p, _ in PATTERNS])
def test_rearrange_matches_torch(pattern, lengths):
    x, tx = _pair(4, 6, 8, 3, seed=6)
    _close(F.rearrange(x, pattern, **lengths), TF.rearrange(tx, pattern, **lengths), atol=0, rtol=0)


def test_rearrange_unit_axes_lists_and_gradients():
    x, tx = _pair(3, 1, 4, seed=7)
    _close(F.rearrange(x, "a 1 b -> a b"), TF.rearrange(tx, "a 1 b -> a b"))
    # two unit axes on the right: torch 2.13's first-class-dims path fails here; ours is einops'
    assert F.rearrange(x, "a 1 b -> b 1 a 1").shape == (4, 1, 3, 1)
    xs, txs = [_pair(2, 5, seed=s)[0] for s in range(3)], [_pair(2, 5, seed=s)[1] for s in range(3)]
    _close(F.rearrange(xs, "s a b -> a (s b)"), TF.rearrange(txs, "s a b -> a (s b)"))
    y = x.clone().requires_grad_()
    (F.rearrange(y, "a 1 b -> b a") * edunn.arange(12.0).reshape(4, 3)).sum().backward()
    _close(y.grad, torch.arange(12.0).reshape(4, 3).T.reshape(3, 1, 4))


BAD = [("a b -> a", {}, ValueError, "Identifiers only on one side of rearrange expression (should be on both): {'b'}"),
       ("a b c -> a b c", {}, ValueError, "Number of dimensions in pattern (3) must be equal to the number of dimensions in the tensor (4)"),
       ("a 2 b c -> a b c", {}, ValueError, "rearrange only supports unnamed axes of size 1"),
       ("a b c d -> a b c d", {"e": 2}, ValueError, "Identifiers not found in rearrange expression: {'e'}"),
       ("a b c d", {}, ValueError, "Pattern must contain a single '->' separator"),
       ("(a (b)) c d -> a b c d", {}, ValueError, "Axis composition is one-level (brackets inside brackets not allowed)"),
       ("a b c d -> a b c d", {"a": 4.0}, TypeError, "rearrange axis lengths must be integers, got: <class 'float'>"),
       ("a b c _d -> a b c _d", {}, ValueError, "Invalid axis identifier: _d"),
       ("a b c d.e -> a", {}, ValueError, "Expression may contain dots only inside ellipsis (...)"),
       ("a b c d -> a b c d ...", {}, ValueError, "Ellipsis found in right side, but not left side of a pattern"),
       ("a (b ...) -> a b ...", {}, ValueError, "Ellipsis is parenthesis in the left side is not allowed"),
       ("a b c d e ... -> a b c d e ...", {}, ValueError, "Number of dimensions in pattern (5) must be less than or equal to"),
       ("a a c d -> a c d", {}, ValueError, "Indexing expression contains duplicate dimension 'a'"),
       ("a b c (d -> a b c d", {}, ValueError, "Imbalanced parentheses in expression"),
       ("(a b) c d e -> a b c d e", {}, ValueError, "Could not infer sizes"),
       ("(a b) c d e -> a b c d e", {"a": 5}, ValueError, "can't divide axis of length 4 in chunks of 5")]


@pytest.mark.parametrize("pattern,lengths,exc,msg", BAD, ids=[b[0] for b in BAD])
def test_rearrange_errors(pattern, lengths, exc, msg):
    x, tx = _pair(4, 6, 8, 3)
    with pytest.raises(exc) as info:
        F.rearrange(x, pattern, **lengths)
    assert msg in str(info.value)
    with pytest.raises(Exception):  # torch rejects the same patterns
        TF.rearrange(tx, pattern, **lengths)
