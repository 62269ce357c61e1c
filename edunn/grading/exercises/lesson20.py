"""Graders of lesson 20 (function transforms, memory and precision): the learner's per-sample
gradients (a loop over the batch), a Jacobian-vector product from two vector-Jacobian products,
activation checkpointing as an ``autograd.Function`` that recomputes its forward, and a dynamic
loss scaler.

Each is compared with edunn's own answer (``edunn/lessons_support/transforms.py``: ``edunn.func``,
``edunn.utils.checkpoint``, ``edunn.amp.GradScaler``, whose parity with PyTorch is tested in
``tests/``) and with something computed here independently (finite differences, the plain
forward and backward, the loss-scaling rule replayed in plain Python).  The usual mistakes are
replayed so that their numbers can be recognised and named.
"""

from __future__ import annotations

import math
from typing import Any

from edunn.grading import Fail, exercise


# ---------------------------------------------------------------------------- small models

def _mlp(t, sizes: tuple = (4, 5, 3)) -> Any:
    """Linear - Tanh - Linear with random weights from ``t``."""
    import edunn
    import edunn.nn as nn
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Tanh(), nn.Linear(sizes[1], sizes[2]))
    with edunn.no_grad():
        for p in model.parameters():
            p.copy_(t.randn(*p.shape))
    return model


def _flat(tensors: Any) -> list:
    out: list = []
    for p in tensors:
        out.extend(float(v) for v in p.detach().reshape(-1).tolist())
    return out


# ---------------------------------------------------------------------------- per-sample gradients

def _loop_grads(model: Any, loss_fn: Any, inputs: Any, targets: Any) -> dict:
    """Per-sample gradients by definition: one forward and one ``autograd.grad`` per sample."""
    import edunn
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    rows: dict = {n: [] for n in names}
    for i in range(inputs.shape[0]):
        loss = loss_fn(model(inputs[i:i + 1]), targets[i:i + 1])
        for n, g in zip(names, edunn.autograd.grad(loss, params)):
            rows[n].append(g)
    return {n: edunn.stack(gs) for n, gs in rows.items()}


def _batch_mean_grads(model: Any, loss_fn: Any, inputs: Any, targets: Any) -> dict:
    """The mistake of returning the gradient of the batch loss for every sample."""
    import edunn
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grads = edunn.autograd.grad(loss_fn(model(inputs), targets), [p for _, p in named])
    return {n: g.unsqueeze(0).expand(inputs.shape[0], *g.shape) for (n, _), g in zip(named, grads)}


def _as_flat_dict(grads: Any, names: list) -> list:
    return _flat(grads[n] for n in names)


@exercise("20.per_sample_grads", points=3, reference="edunn.lessons_support.transforms.per_sample_grads",
          title="per-sample gradients, one sample at a time")
def grade_per_sample_grads(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("a dict: each trainable parameter's name -> a tensor of shape (N, *parameter.shape)"):
        model = _mlp(t)
        x, y = t.randn(6, 4), t.randint(0, 3, (6,))
        grads = student(model, F.cross_entropy, x, y)
        if not isinstance(grads, dict):
            raise Fail(f"per_sample_grads should return a dict {{name: tensor}}, got {type(grads).__name__}")
        names = [n for n, _ in model.named_parameters()]
        t.equal(sorted(grads), sorted(names), "the keys of the returned dict",
                hint="for name, p in model.named_parameters(): ... grads[name] = edunn.stack(...)")
        for n, p in model.named_parameters():
            t.equal(tuple(grads[n].shape), (6, *p.shape), f"the shape of grads[{n!r}] for a batch of 6",
                    hint="one gradient per sample, stacked along a new first dimension")

    for loss_name, loss_fn, n_out in (("cross_entropy", F.cross_entropy, 3), ("mse_loss", F.mse_loss, 2)):
        with t.group(f"the gradient of each sample's loss ({loss_name})"):
            model = _mlp(t, (4, 5, n_out))
            x = t.randn(5, 4)
            y = t.randint(0, 3, (5,)) if loss_name == "cross_entropy" else t.randn(5, 2)
            names = [n for n, _ in model.named_parameters()]
            grads = student(model, loss_fn, x, y)
            want = _loop_grads(model, loss_fn, x, y)
            t.close(_as_flat_dict(grads, names), _as_flat_dict(want, names),
                    f"the per-sample gradients of {loss_name} for a batch of 5", rtol=1e-4, atol=1e-5,
                    mistakes={"every sample got the gradient of the whole batch's loss: run the model on "
                              "one sample at a time (inputs[i:i + 1], targets[i:i + 1])":
                              _as_flat_dict(_batch_mean_grads(model, loss_fn, x, y), names)},
                    hint="for each i: loss = loss_fn(model(inputs[i:i + 1]), targets[i:i + 1]), then "
                         "edunn.autograd.grad(loss, params)")
            ref = t.reference(model, loss_fn, x, y)
            t.close(_as_flat_dict(grads, names), _as_flat_dict(ref, names),
                    "the per-sample gradients against edunn.func's vmap(grad(...))", rtol=1e-4, atol=1e-5)

    with t.group("the model's .grad fields are left alone"):
        model = _mlp(t)
        marks = []
        for p in model.parameters():
            p.grad = edunn.full_like(p, 7.0)
            marks.append(p.grad)
        student(model, F.cross_entropy, t.randn(3, 4), t.randint(0, 3, (3,)))
        t.close(_flat(p.grad if p.grad is not None else edunn.zeros_like(p) for p in model.parameters()),
                _flat(marks), "the parameters' .grad after per_sample_grads (they held 7.0 before)",
                hint="edunn.autograd.grad(loss, params) returns the gradients without accumulating them "
                     "into .grad; backward() would add to whatever is there")

    with t.group("a frozen parameter has no entry"):
        model = _mlp(t)
        model[0].bias.requires_grad_(False)
        grads = student(model, F.cross_entropy, t.randn(3, 4), t.randint(0, 3, (3,)))
        t.equal(sorted(grads), sorted(n for n, p in model.named_parameters() if p.requires_grad),
                "the keys when 0.bias has requires_grad=False",
                hint="only the parameters with p.requires_grad get gradients")


# ---------------------------------------------------------------------------- jvp from two vjps

def _finite_difference(f: Any, x: Any, v: Any, h: float = 1e-6) -> list:
    """(f(x + h v) - f(x - h v)) / 2h in float64: J v without any autograd."""
    import edunn
    with edunn.no_grad():
        x64, v64 = x.double(), v.double()
        return _flat([(f(x64 + h * v64) - f(x64 - h * v64)) / (2 * h)])


def _vjp_by_grad(f: Any, x: Any, v: Any) -> list:
    """vᵀ J, the mistake of stopping after the first vector-Jacobian product."""
    import edunn
    x = x.detach().requires_grad_(True)
    (g,) = edunn.autograd.grad(f(x), x, v)
    return _flat([g])


@exercise("20.jvp", points=3, reference="edunn.lessons_support.transforms.jvp",
          title="a Jacobian-vector product from two vector-Jacobian products")
def grade_jvp(student, t):
    A, B = t.randn(5, 3).double(), t.randn(3, 3).double()
    cases = [   # (what, f, x's shape, whether J is square and not symmetric, so that vᵀJ is wrong)
        ("x.sin() * x, elementwise", lambda x: x.sin() * x, (4,), False),
        ("B @ x.tanh(), from R^3 to R^3", lambda x: B @ x.tanh(), (3,), True),
        ("A @ x.tanh(), from R^3 to R^5", lambda x: A @ x.tanh(), (3,), False),
        ("x @ x.T on a 2x3 matrix", lambda x: x @ x.T, (2, 3), False),
    ]
    for what, f, shape, square in cases:
        with t.group(f"J v for f(x) = {what}"):
            x, v = t.randn(*shape).double(), t.randn(*shape).double()
            result = student(f, x, v)
            if not isinstance(result, tuple) or len(result) != 2:
                raise Fail(f"my_jvp should return a pair (f(x), J v), got {type(result).__name__}")
            out, tangent = result
            t.close(_flat([out]), _flat([f(x)]), f"the first result, f(x), for f(x) = {what}")
            fd = _finite_difference(f, x, v)
            mistakes = None
            if square:
                mistakes = {"that is vᵀJ, a vector-Jacobian product: differentiate it once more, with "
                            "respect to the cotangent u, in direction v": _vjp_by_grad(f, x, v)}
            t.close(_flat([tangent]), fd, f"J v for f(x) = {what}, against finite differences",
                    rtol=1e-5, atol=1e-7, mistakes=mistakes,
                    hint="g(u) = uᵀJ is linear in u; its vjp with v gives (vᵀ Jᵀ)ᵀ = J v: "
                         "u = zeros_like(f(x)).requires_grad_(); g = grad(f(x), x, u, create_graph=True); "
                         "grad(g, u, v)")
            _, ref = t.reference(f, x, v)
            t.close(_flat([tangent]), _flat([ref]), f"J v for f(x) = {what}, against edunn.func.jvp",
                    rtol=1e-6, atol=1e-9)
            t.ok(not tangent.requires_grad and not out.requires_grad,
                 "the results still carry the graph used to compute them (requires_grad=True): return "
                 "them detached, as torch.func.jvp does for inputs that do not require grad")

    with t.group("x and v are not changed"):
        x, v = t.randn(3).double(), t.randn(3).double()
        before = _flat([x, v])
        student(lambda z: z.exp(), x, v)
        t.close(_flat([x, v]), before, "x and v after my_jvp")
        t.ok(not x.requires_grad, "my_jvp left x with requires_grad=True: work on x.detach().requires_grad_()")


# ---------------------------------------------------------------------------- checkpointing

class _Recorded:
    """A small block ``tanh(x @ W1) @ W2 + c``; records whether grad mode was on at each call."""

    def __init__(self, t, n_in: int = 4) -> None:
        import edunn
        import edunn.nn as nn
        self.layer1 = nn.Linear(n_in, 6)
        self.layer2 = nn.Linear(6, 3)
        with edunn.no_grad():
            for p in (*self.layer1.parameters(), *self.layer2.parameters()):
                p.copy_(t.randn(*p.shape))
        self.calls: list = []

    def parameters(self) -> list:
        return [*self.layer1.parameters(), *self.layer2.parameters()]

    def __call__(self, x: Any, c: Any) -> Any:
        import edunn
        self.calls.append(edunn.is_grad_enabled())
        return self.layer2(self.layer1(x).tanh()) + c


@exercise("20.checkpoint", points=3, reference="edunn.lessons_support.transforms.checkpoint",
          title="activation checkpointing: forward without the graph, recompute in backward")
def grade_checkpoint(student, t):

    def run(fn: Any, block: _Recorded, x: Any, c: Any, w: Any) -> tuple:
        """The output, the inputs' and the weights' gradients of (fn(block, x, c) * w).sum()."""
        for p in block.parameters():
            p.grad = None
        x = x.detach().requires_grad_(True)
        c = c.detach().requires_grad_(True)
        out = fn(block, x, c)
        (out * w).sum().backward()
        return out, [x.grad, c.grad], [p.grad for p in block.parameters()]

    with t.group("the same output and the same gradients as without checkpointing"):
        block = _Recorded(t)
        x, c, w = t.randn(5, 4), t.randn(5, 3), t.randn(5, 3)
        plain = run(lambda b, x, c: b(x, c), block, x, c, w)
        mine = run(lambda b, x, c: student(b, x, c), block, x, c, w)
        t.close(_flat([mine[0]]), _flat([plain[0]]), "the output of my_checkpoint(block, x, c)")
        if any(g is None for g in mine[1]):
            raise Fail("after backward, x.grad or c.grad is None: backward must return one gradient per "
                       "input of forward (None for the function itself)")
        t.close(_flat(mine[1]), _flat(plain[1]), "the gradients of the inputs x and c", rtol=1e-4, atol=1e-5)
        if any(g is None for g in mine[2]):
            raise Fail("the block's weights got no gradient: in backward, run the block again with grad "
                       "enabled on detached inputs and call edunn.autograd.backward(outputs, grad_outputs); "
                       "that accumulates into the weights' .grad")
        t.close(_flat(mine[2]), _flat(plain[2]), "the gradients of the block's weights", rtol=1e-4, atol=1e-5)

    with t.group("the forward runs without a graph and is recomputed once in backward"):
        block = _Recorded(t)
        x = t.randn(2, 4).requires_grad_(True)
        out = student(block, x, t.randn(2, 3))
        t.equal(block.calls, [False], "grad mode (is_grad_enabled) in each call of the block during the forward",
                hint="run the block under edunn.no_grad() in forward: then nothing inside it is kept "
                     "for backward, which is the point")
        t.ok(out.requires_grad, "the output of my_checkpoint does not require grad: it must come out of "
                                "your autograd.Function's apply, so that backward reaches it")
        out.sum().backward()
        t.equal(block.calls, [False, True], "grad mode in each call of the block, after backward",
                hint="backward runs the block once more, with grad enabled (edunn.enable_grad())")

    with t.group("two backward passes through two checkpoints in a row"):
        block1, block2 = _Recorded(t), _Recorded(t, n_in=3)
        x, c = t.randn(3, 4).requires_grad_(True), t.randn(3, 3)
        block2(block1(x, c), c).sum().backward()
        want, x.grad = x.grad, None
        student(block2, student(block1, x, c), c).sum().backward()    # .backward(): PyTorch's reentrant
        got = x.grad                                                  # checkpoint refuses autograd.grad
        if got is None:
            raise Fail("x.grad is None after backward through two checkpointed blocks")
        t.close(_flat([got]), _flat([want]), "the gradient of x through two checkpointed blocks",
                rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- loss scaling

def _replay_scales(infs: list, init: float, growth: float, backoff: float, interval: int, *,
                   keep_tracker: bool = False, no_backoff: bool = False, grow_each: bool = False) -> list:
    """The scale after each ``update()`` for a run whose steps had (True) or had not (False) an
    inf/NaN gradient, by the dynamic loss-scaling rule; flags replay one mistake each."""
    scale, tracker, out = init, 0, []
    for inf in infs:
        if inf:
            if not no_backoff:
                scale *= backoff
            if not keep_tracker:
                tracker = 0
        else:
            tracker += 1
            if grow_each or tracker == interval:
                scale *= growth
                tracker = 0
        out.append(scale)
    return out


def _scaled_run(t, make_scaler: Any, infs: list, seed_data: list) -> tuple:
    """Train Linear(3, 1) with SGD through ``make_scaler()``; an inf in the input at the steps
    ``infs`` marks.  Returns the scale after each update and the weights after each step."""
    import edunn
    import edunn.nn as nn
    model = nn.Linear(3, 1)
    with edunn.no_grad():
        model.weight.copy_(edunn.tensor([[0.5, -0.3, 0.2]]))
        model.bias.fill_(0.1)
    optimizer = edunn.optim.SGD(model.parameters(), lr=0.1)
    scaler = make_scaler()
    scales, weights = [], []
    for inf, (x, y) in zip(infs, seed_data):
        if inf:
            x = x.clone()
            x[0, 0] = float("inf")
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scales.append(float(scaler.get_scale()))
        weights.append(_flat(model.parameters()))
    return scales, weights


@exercise("20.GradScaler", points=4, reference="edunn.lessons_support.transforms.GradScaler",
          title="dynamic loss scaling")
def grade_grad_scaler(student, t):
    infs = [False, False, True, False, False, False, True, True, False, False]
    data = [(t.randn(4, 3), t.randn(4, 1)) for _ in infs]
    init, growth, backoff, interval = 1024.0, 2.0, 0.5, 3

    def mine():
        return student(init_scale=init, growth_factor=growth, backoff_factor=backoff, growth_interval=interval)

    def theirs():
        return t.reference(init_scale=init, growth_factor=growth, backoff_factor=backoff, growth_interval=interval)

    with t.group("scale(loss) multiplies by the scale; get_scale() reads it"):
        scaler = mine()
        t.close(float(scaler.get_scale()), init, "get_scale() of a new scaler")
        loss = t.randn(1).sum()
        t.close(float(scaler.scale(loss)), float(loss) * init, "scale(loss)")

    scales, weights = _scaled_run(t, mine, infs, data)
    ref_scales, ref_weights = _scaled_run(t, theirs, infs, data)

    with t.group("the scale after each update(), on a run with inf gradients at steps 3, 7 and 8"):
        kw = dict(init=init, growth=growth, backoff=backoff, interval=interval)
        t.close(scales, _replay_scales(infs, **kw), "the scale after each of the 10 updates",
                mistakes={"the count of good steps was not reset after an inf: the scale grows again "
                          "too early": _replay_scales(infs, keep_tracker=True, **kw),
                          "the scale never backs off on an inf gradient: multiply it by backoff_factor":
                          _replay_scales(infs, no_backoff=True, **kw),
                          "the scale grows after every good step: it should grow only after "
                          "growth_interval good steps in a row": _replay_scales(infs, grow_each=True, **kw)},
                hint="on inf: scale *= backoff_factor and the count of good steps goes back to 0; "
                     "otherwise count += 1, and when it reaches growth_interval, scale *= growth_factor and "
                     "the count goes back to 0")
        t.close(scales, ref_scales, "the scales against edunn.amp.GradScaler")

    with t.group("steps with an inf gradient are skipped, the others use the unscaled gradient"):
        if any(math.isnan(w) or math.isinf(w) for w in weights[-1]):
            raise Fail("the weights became inf/NaN: step(optimizer) must skip optimizer.step() when any "
                       "gradient is not finite")
        for k, inf in enumerate(infs):
            if inf and k > 0:
                t.close(weights[k], weights[k - 1], f"the weights after step {k + 1}, which had an inf gradient",
                        hint="skip optimizer.step() when edunn.isfinite(p.grad).all() fails for any p")
        t.close(weights, ref_weights, "the weights after each step, against edunn.amp.GradScaler",
                rtol=1e-4, atol=1e-6,
                hint="divide every gradient by the scale before optimizer.step() (unscale), or the "
                     "step is scale times too large")
