"""Graders of lesson 19 (the capstone): one epoch of training, evaluation, the confusion matrix,
and a checkpoint that resumes training bit for bit.

The references below are the few lines a learner writes; they are the loop of every PyTorch
training script, built on edunn's ``nn``, ``optim``, ``optim.lr_scheduler``,
``optim.swa_utils``, ``utils.data`` and ``save``/``load``.  The graders run the learner's code
and the reference side by side on tiny models and compare the weights **exactly** (training is
deterministic, so anything but bit-for-bit equality is a different computation), and they
recognise the usual mistakes by recomputing them: ``zero_grad`` forgotten, the scheduler
stepped once per epoch, ``model.train()`` or ``model.eval()`` forgotten, no ``no_grad`` in
evaluation, the loss averaged over batches instead of samples, a transposed confusion matrix,
a checkpoint missing the optimizer, the scheduler, the SWA model or one of the random states.
"""

from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace
from typing import Any, Callable

from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- references


def train_one_epoch(model: Any, loader: Any, loss_fn: Callable, optimizer: Any, scheduler: Any = None,
                    device: Any = "cpu") -> float:
    """One pass over ``loader``: per batch ``zero_grad``, forward, loss, backward, ``step`` and
    (if given) ``scheduler.step()``; returns the mean loss per sample over the epoch."""
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count


def evaluate(model: Any, loader: Any, loss_fn: Callable, device: Any = "cpu") -> tuple[float, float]:
    """``(mean loss per sample, accuracy)`` of ``model`` in eval mode, without recording a graph."""
    import edunn

    model.eval()
    total, correct, count = 0.0, 0, 0
    with edunn.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(1) == targets).sum().item()
            count += len(targets)
    return total / count, correct / count


def confusion_matrix(predictions: Any, targets: Any, num_classes: int) -> Any:
    """``C[i, j]`` = how many samples of true class ``i`` were predicted as ``j`` (int64,
    ``(num_classes, num_classes)``; rows are the truth, as in ``sklearn.metrics``)."""
    import edunn

    flat = targets.long() * num_classes + predictions.long()
    return edunn.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def save_checkpoint(path: str, run: Any, epoch: int) -> None:
    """Everything that decides the rest of training, in one ``edunn.save`` file."""
    import edunn

    edunn.save({
        "epoch": epoch,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "swa_model": run.swa_model.state_dict(),
        "swa_scheduler": run.swa_scheduler.state_dict(),
        "rng_state": edunn.get_rng_state(),
        "loader_generator": run.generator.get_state(),
    }, path)


def load_checkpoint(path: str, run: Any) -> int:
    """Put a checkpoint written by ``save_checkpoint`` back into a freshly built ``run``;
    returns the epoch it was saved at."""
    import edunn

    checkpoint = edunn.load(path)
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scheduler.load_state_dict(checkpoint["scheduler"])
    run.swa_model.load_state_dict(checkpoint["swa_model"])
    run.swa_scheduler.load_state_dict(checkpoint["swa_scheduler"])
    edunn.set_rng_state(checkpoint["rng_state"])
    run.generator.set_state(checkpoint["loader_generator"])
    return checkpoint["epoch"]


# ---------------------------------------------------------------------------- tiny problems


def _tiny_model(seed: int, dropout: float = 0.3) -> Any:
    """A small conv net with BatchNorm and dropout on 1x6x6 inputs, 3 classes."""
    import edunn
    import edunn.nn as nn

    edunn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(dropout), nn.Linear(27, 3))


def _data(t: Any, n: int = 40) -> tuple[Any, Any]:
    return t.randn(n, 1, 6, 6), t.randint(0, 3, (n,))


def _loader(x: Any, y: Any, generator: Any, batch_size: int = 8) -> Any:
    from edunn.utils.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=generator)


def _flat(module: Any) -> Any:
    """Every parameter and floating buffer of ``module``, detached, in one flat tensor."""
    import edunn

    pieces = [v.detach().reshape(-1).double() for v in module.state_dict().values() if v.is_floating_point()]
    return edunn.cat(pieces)


def _optimizer_and_scheduler(model: Any) -> tuple[Any, Any]:
    import edunn
    from edunn.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    optimizer = edunn.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05)
    scheduler = SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.2, total_iters=3),
                                         CosineAnnealingLR(optimizer, T_max=20)], milestones=[3])
    return optimizer, scheduler


def _one_epoch(t: Any, train: Callable, variant: str = "right") -> SimpleNamespace:
    """Train a fresh tiny model for one epoch with ``train`` (the learner's function, or the
    reference when ``variant`` names a planted mistake to reproduce)."""
    import edunn
    import edunn.nn.functional as F

    x, y = _data(t, 44)                      # batches of 8, and a last one of 4
    model = _tiny_model(3)
    model.eval()                             # a model left in eval mode by a previous evaluation
    optimizer, scheduler = _optimizer_and_scheduler(model)
    loader = _loader(x, y, edunn.Generator().manual_seed(5))
    edunn.manual_seed(11)                    # the dropout masks
    if variant == "right":
        loss = train(model, loader, F.cross_entropy, optimizer, scheduler, "cpu")
    elif variant == "no_zero_grad":
        optimizer.zero_grad = lambda *a, **k: None
        loss = train_one_epoch(model, loader, F.cross_entropy, optimizer, scheduler, "cpu")
    elif variant == "epoch_scheduler":
        loss = train_one_epoch(model, loader, F.cross_entropy, optimizer, None, "cpu")
        scheduler.step()
    elif variant == "no_scheduler":
        loss = train_one_epoch(model, loader, F.cross_entropy, optimizer, None, "cpu")
    elif variant == "batch_mean":
        model.train()
        losses = []
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        loss = sum(losses) / len(losses)
    elif variant == "no_train":
        model.train = lambda mode=True: model
        loss = train_one_epoch(model, loader, F.cross_entropy, optimizer, scheduler, "cpu")
    else:
        raise ValueError(variant)
    return SimpleNamespace(model=model, optimizer=optimizer, loss=loss, weights=_flat(model),
                           lr=optimizer.param_groups[0]["lr"])


# ---------------------------------------------------------------------------- 19.train_one_epoch


@exercise("19.train_one_epoch", points=4, reference=train_one_epoch,
          title="one epoch: zero_grad, forward, loss, backward, step, scheduler.step per batch")
def grade_train_one_epoch(student: Any, t: Any) -> None:
    import edunn

    if not callable(student):
        raise Fail(f"expected a function train_one_epoch(model, loader, loss_fn, optimizer, scheduler, "
                   f"device), got {type(student).__name__}")
    runs = {}
    for variant in ("right", "no_zero_grad", "epoch_scheduler", "no_scheduler", "no_train", "batch_mean"):
        t.rng.seed(t.exercise.id)             # the same data for every run
        runs[variant] = _one_epoch(t, train_one_epoch, variant)
    expected = runs["right"]
    t.rng.seed(t.exercise.id)
    got = _one_epoch(t, student)

    with t.group("the model is in training mode during the epoch"):
        t.ok(got.model.training, "after train_one_epoch the model is still in eval mode: call "
             "model.train() at the start (the model may come back from an evaluation in eval mode)")

    with t.group("the weights after one epoch equal the reference's, bit for bit"):
        t.close(got.weights, expected.weights, "the weights and running statistics after one epoch",
                rtol=0, atol=0,
                mistakes={"the gradients piled up from batch to batch: call optimizer.zero_grad() before "
                          "every backward": runs["no_zero_grad"].weights,
                          "the learning rate never changed during the epoch: call scheduler.step() after "
                          "every optimizer.step(), once per batch": runs["no_scheduler"].weights,
                          "the model trained in eval mode (dropout off, BatchNorm on its running "
                          "statistics): call model.train() first": runs["no_train"].weights},
                hint="per batch: optimizer.zero_grad(), outputs = model(inputs), loss = loss_fn(outputs, "
                     "targets), loss.backward(), optimizer.step(), scheduler.step()")

    with t.group("the scheduler is stepped once per batch"):
        t.close(got.lr, expected.lr, "the learning rate after one epoch (6 batches)", rtol=1e-12, atol=0,
                mistakes={"the scheduler was stepped once per epoch instead of once per batch":
                          runs["epoch_scheduler"].lr,
                          "the scheduler was never stepped": runs["no_scheduler"].lr})

    with t.group("the returned loss is the mean per sample over the epoch"):
        ok = t.ok(isinstance(got.loss, (int, float)) and not isinstance(got.loss, bool),
                  f"return the mean loss as a Python float (loss.item()), got {type(got.loss).__name__}")
        if ok:
            t.close(got.loss, expected.loss, "the returned mean loss", rtol=1e-6, atol=1e-9,
                    mistakes={"you averaged the batch means, but the last batch is smaller": runs["batch_mean"].loss},
                    hint="add loss.item() * len(targets) for every batch and divide by the number of samples")

    with t.group("the batches are moved to the device"):
        class Loader:                          # a loader whose batches remember .to(device) calls
            def __init__(self) -> None:
                self.moves: list = []

            def __iter__(self) -> Any:
                x, y = _data(t, 8)
                for tensor in (x, y):
                    original = tensor.to
                    tensor.to = lambda *a, _o=original, **k: (self.moves.append(a[0] if a else k.get("device")),
                                                             _o(*a, **k))[1]
                yield x, y

        loader = Loader()
        model = _tiny_model(1)
        optimizer, _ = _optimizer_and_scheduler(model)
        student(model, loader, edunn.nn.functional.cross_entropy, optimizer, None, "cpu")
        t.ok(len(loader.moves) >= 2 and all(str(m) == "cpu" for m in loader.moves),
             "move every batch to the device: inputs, targets = inputs.to(device), targets.to(device) "
             f"(calls seen: {loader.moves})")


# ---------------------------------------------------------------------------- 19.evaluate


@exercise("19.evaluate", points=3, reference=evaluate,
          title="evaluation: model.eval(), no_grad, mean loss and accuracy")
def grade_evaluate(student: Any, t: Any) -> None:
    import edunn
    import edunn.nn.functional as F
    from edunn.utils.data import DataLoader, TensorDataset

    if not callable(student):
        raise Fail(f"expected a function evaluate(model, loader, loss_fn, device), got {type(student).__name__}")
    x, y = _data(t, 30)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)      # 8, 8, 8, 6: uneven batches
    model = _tiny_model(7, dropout=0.5)
    model.train()
    recorded: list = []
    model.register_forward_hook(lambda m, args, out: recorded.append(out.requires_grad))
    with edunn.no_grad():
        model.eval()
        outputs = model(x)
        model.train()
    expected_loss = F.cross_entropy(outputs, y).item()
    expected_accuracy = (outputs.argmax(1) == y).float().mean().item()
    recorded.clear()

    result = None
    with t.group("evaluate returns (mean loss, accuracy)"):
        result = student(model, loader, F.cross_entropy, "cpu")
        ok = t.ok(isinstance(result, (tuple, list)) and len(result) == 2,
                  f"return a pair (mean loss, accuracy), got {type(result).__name__}")
        if ok:
            t.ok(all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in result),
                 "both values should be Python numbers (.item()), got "
                 f"{type(result[0]).__name__} and {type(result[1]).__name__}")

    with t.group("the model is in eval mode"):
        t.ok(not model.training, "after evaluate the model is still in training mode: call model.eval() "
             "(dropout must be off and BatchNorm must use its running statistics)")

    with t.group("no graph is recorded"):
        t.ok(recorded and not any(recorded), "the model's outputs required grad during evaluation: wrap the "
             "loop in `with edunn.no_grad():` (no graph, less memory, faster)")

    if isinstance(result, (tuple, list)) and len(result) == 2:
        batch_mean = sum(F.cross_entropy(outputs[i:i + 8], y[i:i + 8]).item() for i in range(0, 30, 8)) / 4
        with t.group("the mean loss per sample"):
            t.close(result[0], expected_loss, "the mean loss", rtol=1e-5, atol=1e-7,
                    mistakes={"you averaged the batch means, but the last batch is smaller: weigh each "
                              "batch by its size (loss.item() * len(targets)) and divide by the number "
                              "of samples": batch_mean})
        with t.group("the accuracy"):
            t.close(result[1], expected_accuracy, "the accuracy (a fraction of 1)", rtol=1e-6, atol=1e-9,
                    mistakes={"give the accuracy as a fraction, not a percentage": 100 * expected_accuracy},
                    hint="count (outputs.argmax(1) == targets).sum() over every batch, divide by the "
                         "number of samples")


# ---------------------------------------------------------------------------- 19.confusion_matrix


def _count(predictions: list, targets: list, n: int) -> list:
    table = [[0] * n for _ in range(n)]
    for p, q in zip(predictions, targets):
        table[q][p] += 1
    return table


@exercise("19.confusion_matrix", points=2, reference=confusion_matrix,
          title="the confusion matrix: rows are the true class, columns the prediction")
def grade_confusion_matrix(student: Any, t: Any) -> None:
    import edunn

    for n, size, classes in [(3, 20, 3), (5, 40, 5), (10, 60, 6)]:     # the last: classes 6..9 never occur
        with t.group(f"{n} classes, {size} samples"):
            p = [t.rng.randrange(classes) for _ in range(size)]
            q = [t.rng.randrange(classes) for _ in range(size)]
            got = student(edunn.tensor(p), edunn.tensor(q), n)
            expected = _count(p, q, n)
            t.equal(tuple(got.shape), (n, n), "the shape", hint="(num_classes, num_classes), even for classes "
                    "that never occur: bincount(..., minlength=num_classes * num_classes)")
            t.ok(not got.is_floating_point(), f"the counts should be integers, got {got.dtype}")
            t.close(got, edunn.tensor(expected), "the matrix", rtol=0, atol=0,
                    mistakes={"your matrix is transposed: row i is the TRUE class i, column j the "
                              "prediction (sklearn's convention)": edunn.tensor(expected).T})
            t.equal(int(got.sum().item()), size, "the sum of all counts")


# ---------------------------------------------------------------------------- 19.checkpoint


def _build_run(seed: int, x: Any, y: Any) -> SimpleNamespace:
    """Everything a tiny training run holds, built from scratch: model, AdamW, warm-up + cosine,
    an SWA model with SWALR, a DataLoader with its own generator."""
    import edunn
    from edunn.optim.swa_utils import SWALR, AveragedModel

    model = _tiny_model(seed)
    optimizer, scheduler = _optimizer_and_scheduler(model)
    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=0.002, anneal_epochs=2)
    generator = edunn.Generator().manual_seed(seed + 1)
    return SimpleNamespace(model=model, optimizer=optimizer, scheduler=scheduler, swa_model=swa_model,
                           swa_scheduler=swa_scheduler, generator=generator,
                           loader=_loader(x, y, generator))


def _train(run: SimpleNamespace, start: int, end: int, swa_start: int = 2) -> None:
    import edunn.nn.functional as F

    for epoch in range(start, end):
        if epoch < swa_start:
            train_one_epoch(run.model, run.loader, F.cross_entropy, run.optimizer, run.scheduler)
        else:
            train_one_epoch(run.model, run.loader, F.cross_entropy, run.optimizer)
            run.swa_model.update_parameters(run.model)
            run.swa_scheduler.step()


def _same(a: Any, b: Any) -> bool:
    import edunn

    return a.shape == b.shape and bool(edunn.equal(a, b))


@exercise("19.checkpoint", points=4, reference=(save_checkpoint, load_checkpoint),
          title="save_checkpoint / load_checkpoint: resuming is bit-identical to training straight on")
def grade_checkpoint(student: Any, t: Any) -> None:
    import edunn

    if not (isinstance(student, (tuple, list)) and len(student) == 2 and all(callable(f) for f in student)):
        raise Fail("expected the pair (save_checkpoint, load_checkpoint), got "
                   f"{type(student).__name__}")
    save, load = student
    x, y = _data(t, 24)
    total, split = 4, 3                         # SWA from epoch 2; the checkpoint falls inside it

    straight = _build_run(0, x, y)
    edunn.manual_seed(100)
    _train(straight, 0, total)

    first = _build_run(0, x, y)
    edunn.manual_seed(100)
    _train(first, 0, split)
    saved = SimpleNamespace(model=_flat(first.model), swa=_flat(first.swa_model),
                            n=int(first.swa_model.n_averaged.item()),
                            exp_avg=edunn.cat([s["exp_avg"].reshape(-1) for s in first.optimizer.state.values()]),
                            last_epoch=first.scheduler.last_epoch, lr=first.optimizer.param_groups[0]["lr"],
                            swa_lr_epoch=first.swa_scheduler.last_epoch,
                            rng=edunn.get_rng_state(), gen=first.generator.get_state())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.safetensors")
        with t.group("save_checkpoint writes an edunn.save file"):
            save(path, first, split)
            t.ok(os.path.exists(path), f"save_checkpoint(path, run, epoch) wrote nothing at {path!r}")
            edunn.load(path)
        edunn.manual_seed(12345)                # later draws must come from the checkpoint
        first.generator.manual_seed(999)
        fresh = _build_run(7, x, y)             # a different seed: everything must come from the file
        epoch = None
        with t.group("load_checkpoint returns the saved epoch"):
            epoch = load(path, fresh)
            t.equal(epoch, split, "the epoch returned by load_checkpoint")
        if epoch is None:
            raise Fail("load_checkpoint failed, nothing more can be checked")

    with t.group("the model's weights and running statistics are restored"):
        t.ok(_same(_flat(fresh.model), saved.model), "the model differs from the saved one: "
             "save run.model.state_dict() and load it with run.model.load_state_dict(...)")
    with t.group("the optimizer's state is restored"):
        got = [s.get("exp_avg") for s in fresh.optimizer.state.values()]
        t.ok(got and all(g is not None for g in got) and _same(edunn.cat([g.reshape(-1) for g in got]),
                                                                saved.exp_avg),
             "AdamW's moment estimates (optimizer.state) were not restored: save optimizer.state_dict() "
             "and load it with optimizer.load_state_dict(...)")
    with t.group("the schedulers are restored"):
        t.ok(fresh.scheduler.last_epoch == saved.last_epoch and fresh.optimizer.param_groups[0]["lr"] == saved.lr,
             f"the warm-up/cosine scheduler is at step {fresh.scheduler.last_epoch}, it was saved at step "
             f"{saved.last_epoch}: save scheduler.state_dict() and load it")
        t.ok(fresh.swa_scheduler.last_epoch == saved.swa_lr_epoch,
             "the SWALR scheduler was not restored: save swa_scheduler.state_dict() and load it")
    with t.group("the SWA model is restored"):
        t.ok(_same(_flat(fresh.swa_model), saved.swa) and int(fresh.swa_model.n_averaged.item()) == saved.n,
             "the averaged model (its weights and n_averaged) was not restored: save "
             "swa_model.state_dict() and load it")
    with t.group("the random states are restored"):
        t.ok(edunn.get_rng_state() == saved.rng, "the default generator's state (dropout masks, augmentation) "
             "was not restored: save edunn.get_rng_state() and give it back with edunn.set_rng_state(...)")
        t.ok(fresh.generator.get_state() == saved.gen, "the DataLoader generator's state (the shuffling "
             "order) was not restored: save run.generator.get_state() and load it with "
             "run.generator.set_state(...)")
    with t.group("training on from the checkpoint ends bit-identical to training straight through"):
        _train(fresh, split, total)
        t.ok(_same(_flat(fresh.model), _flat(straight.model)) and _same(_flat(fresh.swa_model),
                                                                        _flat(straight.swa_model)),
             "after resuming, the final weights differ from the straight run's")
