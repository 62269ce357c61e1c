"""The graders of lesson 19: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

import os
import tempfile
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson19 as lesson19
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson19

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "19_capstone.ipynb"


# ---------------------------------------------------------------------------- planted mistakes: train_one_epoch

def _epoch(model, loader, loss_fn, optimizer, scheduler, device, *, train=True, zero_grad=True,
           step_scheduler=True, batch_mean=False, move=True, as_tensor=False):
    if train:
        model.train()
    total, count, batches = 0.0, 0, 0
    for inputs, targets in loader:
        if move:
            inputs, targets = inputs.to(device), targets.to(device)
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if scheduler is not None and step_scheduler:
            scheduler.step()
        total += loss.item() * (1 if batch_mean else len(targets))
        count += len(targets)
        batches += 1
    if as_tensor:
        return edunn.tensor(total / count)
    return total / (batches if batch_mean else count)


def epoch_no_train(*args):
    return _epoch(*args, train=False)


def epoch_no_zero_grad(*args):
    return _epoch(*args, zero_grad=False)


def epoch_no_scheduler(*args):
    return _epoch(*args, step_scheduler=False)


def epoch_scheduler_per_epoch(model, loader, loss_fn, optimizer, scheduler=None, device="cpu"):
    loss = _epoch(model, loader, loss_fn, optimizer, scheduler, device, step_scheduler=False)
    if scheduler is not None:
        scheduler.step()
    return loss


def epoch_batch_mean(*args):
    return _epoch(*args, batch_mean=True)


def epoch_no_move(*args):
    return _epoch(*args, move=False)


def epoch_tensor_loss(*args):
    return _epoch(*args, as_tensor=True)


def epoch_step_before_backward(model, loader, loss_fn, optimizer, scheduler=None, device="cpu"):
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        optimizer.step()
        loss.backward()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count


# ---------------------------------------------------------------------------- planted mistakes: evaluate

def _evaluate(model, loader, loss_fn, device="cpu", *, eval_mode=True, no_grad=True, batch_mean=False,
              percent=False):
    if eval_mode:
        model.eval()
    total, correct, count, batches = 0.0, 0, 0, 0
    with edunn.set_grad_enabled(not no_grad):
        for inputs, targets in loader:
            outputs = model(inputs.to(device))
            loss = loss_fn(outputs, targets.to(device)).item()
            total += loss if batch_mean else loss * len(targets)
            correct += (outputs.argmax(1) == targets).sum().item()
            count += len(targets)
            batches += 1
    accuracy = correct / count
    return total / (batches if batch_mean else count), 100 * accuracy if percent else accuracy


def evaluate_no_eval(*args):
    return _evaluate(*args, eval_mode=False)


def evaluate_with_graph(*args):
    return _evaluate(*args, no_grad=False)


def evaluate_batch_mean(*args):
    return _evaluate(*args, batch_mean=True)


def evaluate_percent(*args):
    return _evaluate(*args, percent=True)


def evaluate_accuracy_only(*args):
    return _evaluate(*args)[1]


# ---------------------------------------------------------------------------- planted mistakes: confusion_matrix

def confusion_transposed(predictions, targets, num_classes):
    return lesson19.confusion_matrix(targets, predictions, num_classes)


def confusion_no_minlength(predictions, targets, num_classes):
    counts = edunn.bincount(targets * num_classes + predictions)
    side = int(len(counts) ** 0.5)
    return counts[:side * side].reshape(side, side)


def confusion_float(predictions, targets, num_classes):
    return lesson19.confusion_matrix(predictions, targets, num_classes).float()


def confusion_loops(predictions, targets, num_classes):
    matrix = edunn.zeros(num_classes, num_classes, dtype=edunn.int64)
    for p, q in zip(predictions.tolist(), targets.tolist()):
        matrix[q, p] += 1
    return matrix


# ---------------------------------------------------------------------------- planted mistakes: checkpoint

def saving_without(*missing):
    def save(path, run, epoch):
        checkpoint = {
            "epoch": epoch,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "swa_model": run.swa_model.state_dict(),
            "swa_scheduler": run.swa_scheduler.state_dict(),
            "rng_state": edunn.get_rng_state(),
            "loader_generator": run.generator.get_state(),
        }
        for key in missing:
            del checkpoint[key]
        edunn.save(checkpoint, path)
    return save


def tolerant_load(path, run):
    checkpoint = edunn.load(path)
    for key in ("model", "optimizer", "scheduler", "swa_model", "swa_scheduler"):
        if key in checkpoint:
            getattr(run, key).load_state_dict(checkpoint[key])
    if "rng_state" in checkpoint:
        edunn.set_rng_state(checkpoint["rng_state"])
    if "loader_generator" in checkpoint:
        run.generator.set_state(checkpoint["loader_generator"])
    return checkpoint["epoch"]


def load_returns_nothing(path, run):
    lesson19.load_checkpoint(path, run)


def save_nothing(path, run, epoch):
    pass


# ---------------------------------------------------------------------------- the tests

def test_train_one_epoch():
    assert_full_marks("19.train_one_epoch", lesson19.train_one_epoch)
    assert_zero("19.train_one_epoch", stub)
    assert_partial("19.train_one_epoch", epoch_no_train, mentions="call model.train()")
    assert_partial("19.train_one_epoch", epoch_no_zero_grad, mentions="zero_grad() before every backward")
    assert_partial("19.train_one_epoch", epoch_no_scheduler, mentions="the scheduler was never stepped")
    assert_partial("19.train_one_epoch", epoch_scheduler_per_epoch, mentions="once per epoch instead of once per batch")
    assert_partial("19.train_one_epoch", epoch_batch_mean, mentions="divide by the number of samples")
    assert_partial("19.train_one_epoch", epoch_no_move, mentions="move every batch to the device")
    assert_partial("19.train_one_epoch", epoch_tensor_loss, mentions="as a Python float")
    assert_partial("19.train_one_epoch", epoch_step_before_backward, mentions="bit for bit")
    assert_partial("19.train_one_epoch", 42, mentions="expected a function")


def test_evaluate():
    assert_full_marks("19.evaluate", lesson19.evaluate)
    assert_zero("19.evaluate", stub)
    assert_partial("19.evaluate", evaluate_no_eval, mentions="call model.eval()")
    assert_partial("19.evaluate", evaluate_with_graph, mentions="no_grad")
    assert_partial("19.evaluate", evaluate_batch_mean, mentions="weigh each batch by its size")
    assert_partial("19.evaluate", evaluate_percent, mentions="a fraction, not a percentage")
    assert_partial("19.evaluate", evaluate_accuracy_only, mentions="return a pair")


def test_confusion_matrix():
    assert_full_marks("19.confusion_matrix", lesson19.confusion_matrix)
    assert_full_marks("19.confusion_matrix", confusion_loops)
    assert_zero("19.confusion_matrix", stub)
    assert_partial("19.confusion_matrix", confusion_transposed, mentions="transposed")
    assert_partial("19.confusion_matrix", confusion_no_minlength, mentions="minlength")
    assert_partial("19.confusion_matrix", confusion_float, mentions="integers")


def test_checkpoint():
    reference = (lesson19.save_checkpoint, lesson19.load_checkpoint)
    assert_full_marks("19.checkpoint", reference)
    assert_zero("19.checkpoint", (stub, stub))
    assert_zero("19.checkpoint", (lesson19.save_checkpoint, stub))
    for missing, mention in [("optimizer", "optimizer.state_dict()"), ("scheduler", "warm-up/cosine scheduler"),
                             ("swa_scheduler", "SWALR"), ("swa_model", "swa_model.state_dict()"),
                             ("rng_state", "edunn.get_rng_state()"),
                             ("loader_generator", "run.generator.get_state()"),
                             ("model", "run.model.state_dict()")]:
        assert_partial("19.checkpoint", (saving_without(missing), tolerant_load), mentions=mention)
    assert_partial("19.checkpoint", (lesson19.save_checkpoint, load_returns_nothing), mentions="the epoch returned")
    assert_partial("19.checkpoint", (save_nothing, lesson19.load_checkpoint), mentions="wrote nothing")
    assert_partial("19.checkpoint", lesson19.save_checkpoint, mentions="expected the pair")


def test_the_reference_checkpoint_resumes_bit_identically_and_a_forgotten_state_does_not():
    """The property the grader rests on, checked directly: the reference pair resumes exactly,
    and a resume without the loader's generator state ends elsewhere."""
    x, y = edunn.randn(24, 1, 6, 6), edunn.randint(0, 3, (24,))
    straight = lesson19._build_run(0, x, y)
    edunn.manual_seed(100)
    lesson19._train(straight, 0, 4)
    for keep_generator in (True, False):
        first = lesson19._build_run(0, x, y)
        edunn.manual_seed(100)
        lesson19._train(first, 0, 3)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "c.safetensors")
            lesson19.save_checkpoint(path, first, 3)
            fresh = lesson19._build_run(5, x, y)
            assert lesson19.load_checkpoint(path, fresh) == 3
        if not keep_generator:
            fresh.generator.manual_seed(1)
        lesson19._train(fresh, 3, 4)
        same = lesson19._same(lesson19._flat(fresh.model), lesson19._flat(straight.model))
        assert same == keep_generator


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\nimport edunn.nn as nn\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            source = cell.source.split("\nprint(")[0]          # the exercise cell, not its demo line
            exec(compile(source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/19_capstone.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("19.train_one_epoch", ns["train_one_epoch"])
    assert_full_marks("19.evaluate", ns["evaluate"])
    assert_full_marks("19.confusion_matrix", ns["confusion_matrix"])
    assert_full_marks("19.checkpoint", (ns["save_checkpoint"], ns["load_checkpoint"]))
