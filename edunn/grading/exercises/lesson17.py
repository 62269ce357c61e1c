"""Graders of lesson 17 (stochastic weight averaging): the learner's ``AveragedModel`` (the
running mean of the weights, ``avg + (p - avg) / (n + 1)``, around a deep copy and an
``n_averaged`` buffer) and ``update_bn`` (BatchNorm's running statistics recomputed with one pass
over the data).

Both are compared with ``edunn.optim.swa_utils`` (``AveragedModel``, ``update_bn``; their parity
with ``torch.optim.swa_utils`` is tested in ``tests/optim``) on small models with BatchNorm.  The
usual mistakes are replayed here, each with one thing done wrong, so that the learner's numbers
can be recognised and the mistake named:

    your average is weighted toward the latest weights: did you divide by n instead of n + 1?:
    the averaged parameters after 2 models: ...
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from edunn.grading import Fail, exercise


# ---------------------------------------------------------------------------- small models

def _mlp(t) -> Any:
    """Linear(3, 4) - BatchNorm1d(4) - ReLU - Linear(4, 2), with random running statistics."""
    import edunn.nn as nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    _randomize(t, model)
    return model


def _cnn(t) -> Any:
    """Conv2d(2, 3, 1) - BatchNorm2d(3) - ReLU - Flatten - Linear(12, 2) on (N, 2, 2, 2) images."""
    import edunn.nn as nn
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    _randomize(t, model)
    return model


def _randomize(t, model: Any) -> None:
    """New random parameters, and running statistics that are not BatchNorm's defaults."""
    import edunn
    with edunn.no_grad():
        for p in model.parameters():
            p.copy_(t.randn(*p.shape))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(t.randn(*b.shape))
            elif name.endswith("running_var"):
                b.copy_(t.rand(*b.shape, low=0.5, high=2.0))
            elif name.endswith("num_batches_tracked"):
                b.fill_(5)


def _flat(tensors: Any) -> list:
    """All the values of ``tensors`` (parameters or buffers) as one list of floats."""
    out: list = []
    for p in tensors:
        out.extend(float(v) for v in p.detach().reshape(-1).tolist())
    return out


def _params(averaged: Any) -> list:
    return _flat(averaged.parameters())


def _bn_stats(model: Any) -> list:
    """running_mean and running_var of every BatchNorm, flattened."""
    return _flat(b for name, b in model.named_buffers()
                 if name.endswith("running_mean") or name.endswith("running_var"))


# ---------------------------------------------------------------------------- AveragedModel

def _running_means(models: list, *, divide_by_n: bool = False, count_initial: bool = False,
                   frozen_n: bool = False, halves: bool = False) -> list:
    """The averaged parameters (flat lists) after each model of ``models``, with one mistake on.

    ``divide_by_n``: ``avg + (p - avg) / n`` from the second model on; ``count_initial``: the
    weights the copy started from counted as a first model (``n_averaged`` started at 1);
    ``frozen_n``: ``n_averaged`` never incremented, so every call is the first; ``halves``:
    ``(avg + p) / 2``."""
    flats = [_params_of(m) for m in models]
    out, avg = [], None
    n = 1 if count_initial else 0
    if count_initial:
        avg = list(flats[0])      # the copy made in __init__ holds the first model's weights
    for p in flats:
        if avg is None or frozen_n:     # the first call copies; with n frozen at 0, every call
            avg = list(p)
        elif halves:
            avg = [(a + x) / 2 for a, x in zip(avg, p)]
        else:
            k = n if divide_by_n else n + 1
            avg = [a + (x - a) / k for a, x in zip(avg, p)]
        n += 1
        out.append(avg)
    return out


def _params_of(model: Any) -> list:
    return _flat(model.parameters())


def _snapshots(t, base: Any, count: int) -> list:
    """``count`` models of ``base``'s architecture with random weights and running statistics."""
    models = []
    for _ in range(count):
        m = deepcopy(base)
        _randomize(t, m)
        models.append(m)
    return models


def _make_averaged(student: Any, model: Any) -> Any:
    import edunn.nn as nn
    averaged = student(model)
    if not isinstance(averaged, nn.Module):
        raise Fail(f"MyAveragedModel(model) should be an edunn.nn.Module, got {type(averaged).__name__}")
    if not hasattr(averaged, "update_parameters"):
        raise Fail("MyAveragedModel has no update_parameters(model) method")
    return averaged


@exercise("17.AveragedModel", points=4, reference="edunn.optim.swa_utils.AveragedModel",
          title="AveragedModel, the running mean of the weights")
def grade_averaged_model(student, t):
    import edunn
    reference = t.reference

    with t.group("a copy of the model, not the model itself"):
        model = _mlp(t)
        averaged = _make_averaged(student, model)
        before = _params(averaged)
        t.close(before, _params_of(model), "the averaged model's parameters right after construction",
                hint="copy.deepcopy(model) in __init__")
        with edunn.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        t.close(_params(averaged), before,
                "the averaged model's parameters after the *model* was changed in place (no update yet)",
                hint="the averaged model must own its weights: self.module = copy.deepcopy(model), "
                     "not self.module = model")

    with t.group("the running mean of 5 models"):
        base = _mlp(t)
        models = _snapshots(t, base, 5)
        averaged = _make_averaged(student, models[0])
        ref = reference(models[0])
        want = _running_means(models)
        wrong = {
            "your average is weighted toward the latest weights: did you divide by n instead of n + 1?":
                _running_means(models, divide_by_n=True),
            "the weights of the model you copied in __init__ are counted as one more model: "
            "n_averaged should start at 0, and the first update_parameters copies the model":
                _running_means(models, count_initial=True),
            "your average is just the latest model: does n_averaged grow by 1 at every update?":
                _running_means(models, frozen_n=True),
            "each new model gets half the weight, (avg + p) / 2, an exponential average; the running "
            "mean gives the (n+1)-th model the weight 1 / (n + 1)": _running_means(models, halves=True),
        }
        for m in models:
            averaged.update_parameters(m)
            ref.update_parameters(m)
        # compared after the 5 models, where each usual mistake leaves a different average
        t.close(_params(averaged), want[-1], "the averaged parameters after 5 models",
                mistakes={d: v[-1] for d, v in wrong.items()},
                hint="avg + (p - avg) / (n + 1) with n the models averaged so far; "
                     "the first call (n = 0) copies p")
        t.close(_params(averaged), _params(ref), "the averaged parameters after 5 models, against "
                "edunn.optim.swa_utils.AveragedModel")

    with t.group("n_averaged, a buffer saved in state_dict"):
        model = _mlp(t)
        averaged = _make_averaged(student, model)
        state = averaged.state_dict()
        if "n_averaged" not in state:
            raise Fail(f"state_dict() has no 'n_averaged' (its keys: {sorted(state)}): "
                       "self.register_buffer('n_averaged', edunn.tensor(0, dtype=edunn.long))")
        t.equal(int(state["n_averaged"].item()), 0, "n_averaged before any update")
        t.equal(state["n_averaged"].dtype, edunn.long, "the dtype of n_averaged",
                hint="a count: edunn.tensor(0, dtype=edunn.long), as PyTorch's")
        for _ in range(3):
            averaged.update_parameters(model)
        t.equal(int(averaged.state_dict()["n_averaged"].item()), 3, "n_averaged after 3 updates")
        names = [name for name, _ in averaged.named_parameters()]
        t.equal(names, [name for name, _ in reference(model).named_parameters()],
                "the names of the averaged model's parameters",
                hint="keep the copy in self.module, as PyTorch does, so the names are 'module.0.weight' ...")

    with t.group("BatchNorm's buffers are the latest model's, copied, not averaged"):
        base = _mlp(t)
        models = _snapshots(t, base, 3)
        averaged = _make_averaged(student, models[0])
        for m in models:
            averaged.update_parameters(m)
        mine = _bn_stats(averaged)
        latest = _bn_stats(models[-1])
        means = [sum(vals) / 3 for vals in zip(*[_bn_stats(m) for m in models])]
        t.close(mine, latest, "the averaged model's running_mean and running_var after 3 models",
                mistakes={"you averaged the buffers too; AveragedModel averages the parameters and "
                          "copies the buffers of the latest model (update_bn recomputes them later)": means,
                          "the buffers still hold the first model's statistics: copy the latest model's "
                          "buffers at every update": _bn_stats(models[0])},
                hint="for b_avg, b in zip(self.module.buffers(), model.buffers()): b_avg.copy_(b)")

    with t.group("forward, and an update autograd does not record"):
        model = _cnn(t)
        averaged = _make_averaged(student, model)
        averaged.update_parameters(model)          # one model: the average is that model
        averaged.eval()
        model.eval()
        x = t.randn(4, 2, 2, 2)
        with edunn.no_grad():
            t.close(averaged(x), model(x), "the output of the averaged model after one update "
                    "(eval mode), against the model it averaged",
                    hint="forward calls the averaged copy: return self.module(*args, **kwargs)")
        for name, p in averaged.named_parameters():
            t.ok(p.grad_fn is None and p.requires_grad,
                 f"after update_parameters, {name} has a grad_fn or no longer requires grad: update "
                 "it in place under edunn.no_grad() (p_avg.copy_(...))")
            break


# ---------------------------------------------------------------------------- update_bn

def _replay_update_bn(loader: list, model: Any, *, reset: bool = True, cumulative: bool = True,
                      train: bool = True) -> Any:
    """A copy of ``model`` after update_bn done with one mistake (or none)."""
    import edunn
    from edunn.nn.modules.batchnorm import _BatchNorm
    model = deepcopy(model)
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    for bn in bns:
        if reset:
            bn.reset_running_stats()
        if cumulative:
            bn.momentum = None
    model.train(train)
    with edunn.no_grad():
        for batch in loader:
            model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    return model


def _loader(t, shape: tuple, sizes: tuple, labels: bool = False) -> list:
    """Batches of ``sizes`` samples of ``shape``, shifted and scaled so the statistics are far
    from BatchNorm's defaults; ``(x, y)`` pairs when ``labels``."""
    batches = []
    for size in sizes:
        x = t.randn(size, *shape) * 3.0 + 2.0
        batches.append((x, t.randint(0, 2, (size,))) if labels else x)
    return batches


def _bn_modules(model: Any) -> list:
    from edunn.nn.modules.batchnorm import _BatchNorm
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def _compare_stats(t, student, reference, model: Any, loader: list, what: str) -> None:
    mine_model, ref_model = deepcopy(model), deepcopy(model)
    student(loader, mine_model)
    reference(loader, ref_model)
    wrong = {
        "the old running statistics are still in there: reset them first "
        "(module.reset_running_stats())": _bn_stats(_replay_update_bn(loader, model, reset=False)),
        "your statistics are an exponential average (BatchNorm's momentum); set momentum = None "
        "for the pass, so they become the plain average over the batches":
            _bn_stats(_replay_update_bn(loader, model, cumulative=False)),
        "the running statistics did not move: BatchNorm updates them only in train mode "
        "(model.train() before the pass)": _bn_stats(_replay_update_bn(loader, model, reset=False, train=False)),
        "the running statistics were reset but never recomputed: is the model in train mode for "
        "the pass over the loader?": _bn_stats(_replay_update_bn(loader, model, train=False)),
    }
    t.close(_bn_stats(mine_model), _bn_stats(ref_model), what, rtol=1e-4, atol=1e-5, mistakes=wrong)
    t.equal([int(m.num_batches_tracked.item()) for m in _bn_modules(mine_model)],
            [len(loader)] * len(_bn_modules(mine_model)), f"num_batches_tracked after {what}",
            hint="reset_running_stats() sets it to 0; each batch of the pass adds 1")
    t.close(_params_of(mine_model), _params_of(model), "the parameters after update_bn",
            hint="update_bn changes only the BatchNorm buffers: no optimizer step, no gradient")


@exercise("17.update_bn", points=3, reference="edunn.optim.swa_utils.update_bn",
          title="update_bn, BatchNorm statistics for the averaged weights")
def grade_update_bn(student, t):
    reference = t.reference

    with t.group("the running statistics of an MLP with BatchNorm1d"):
        model = _mlp(t)
        _compare_stats(t, student, reference, model, _loader(t, (3,), (6, 4, 9)),
                       "running_mean and running_var after update_bn on 3 batches of 6, 4 and 9 samples")

    with t.group("(input, label) batches and BatchNorm2d"):
        model = _cnn(t)
        _compare_stats(t, student, reference, model, _loader(t, (2, 2, 2), (5, 7), labels=True),
                       "running_mean and running_var after update_bn on (input, label) batches")

    with t.group("momentum and train/eval mode restored"):
        model = _mlp(t)
        bn = _bn_modules(model)[0]
        bn.momentum = 0.3
        model.eval()
        student(_loader(t, (3,), (4, 4)), model)
        t.equal(bn.momentum, 0.3, "the BatchNorm's momentum after update_bn",
                hint="remember each module's momentum before setting it to None, and put it back")
        t.equal(model.training, False, "model.training after update_bn on a model in eval mode",
                hint="remember model.training before model.train(), then model.train(was_training)")
        model.train()
        student(_loader(t, (3,), (4,)), model)
        t.equal(model.training, True, "model.training after update_bn on a model in train mode")

    with t.group("a model without BatchNorm is left alone"):
        import edunn.nn as nn
        model = nn.Sequential(nn.Linear(3, 2))
        model.eval()
        before = _params_of(model)
        student(_loader(t, (3,), (4,)), model)
        t.close(_params_of(model), before, "the parameters of a model without BatchNorm after update_bn")
