"""The graders of lesson 08: references and the notebook's solutions get full marks, the stubs
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
import edunn.nn.functional as F
from edunn.autograd import Function
from edunn.grading.notebooks import read_notebook
from edunn.grading.registry import get_exercise
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson08

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "08_dropout_embeddings.ipynb"
IDS = ("08.dropout", "08.embedding", "08.embedding_bag", "08.cosine_similarity")


# ---------------------------------------------------------------------------- the reference, the stub

@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_gets_full_marks(exercise_id):
    assert_full_marks(exercise_id, get_exercise(exercise_id).resolve_reference())


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_stub_gets_zero(exercise_id):
    assert_zero(exercise_id, stub)


# ---------------------------------------------------------------------------- 08.dropout

def make_dropout(keep_prob=None, scale=None, check_p=True, eval_identity=True, p_one=True):
    """A dropout with one planted mistake: ``keep_prob(p)`` the probability of keeping,
    ``scale(p)`` the factor of the kept entries."""
    keep_prob = keep_prob or (lambda p: 1 - p)
    scale = scale or (lambda p: 1 / (1 - p))

    def dropout(input, p=0.5, training=True):
        if check_p and (p < 0 or p > 1):
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        if (not training and eval_identity) or p == 0:
            return input
        if p == 1 and p_one:
            return input * 0.0
        keep = edunn.rand_like(input) < keep_prob(p)
        with edunn.backend.numpy.errstate(divide="ignore", invalid="ignore"):
            return input * keep.to(input.dtype) * scale(p)
    return dropout


def test_correct_dropout_gets_full_marks():
    assert_full_marks("08.dropout", make_dropout())


def test_dropout_p_as_keep_probability():
    assert_partial("08.dropout", make_dropout(keep_prob=lambda p: p), mentions="probability of *dropping*")


def test_dropout_not_scaled():
    assert_partial("08.dropout", make_dropout(scale=lambda p: 1.0), mentions="not scaled")


def test_dropout_scaled_by_one_minus_p():
    assert_partial("08.dropout", make_dropout(scale=lambda p: 1 - p), mentions="divides by (1-p)")


def test_dropout_always_on():
    assert_partial("08.dropout", make_dropout(eval_identity=False), mentions="training=False")


def test_dropout_without_p_check():
    assert_partial("08.dropout", make_dropout(check_p=False), mentions="should raise ValueError")


def test_dropout_nan_at_p_one():
    def scale(p):
        return float("inf") if p == 1 else 1 / (1 - p)
    assert_partial("08.dropout", make_dropout(scale=scale, p_one=False), mentions="0 * inf = nan")


def test_dropout_with_its_own_generator():
    gen = edunn.backend.numpy.random.default_rng()

    def dropout(input, p=0.5, training=True):
        if p < 0 or p > 1:
            raise ValueError("p")
        if not training or p == 0:
            return input
        if p == 1:
            return input * 0.0
        keep = edunn.tensor(gen.random(tuple(input.shape)) >= p)
        return input * keep.to(input.dtype) / (1 - p)
    assert_partial("08.dropout", dropout, mentions="edunn's generator")


# ---------------------------------------------------------------------------- 08.embedding

def make_embedding(overwrite=False, pad_grad=True, negative_pad=True, zero_pad_forward=False):
    class Planted(Function):
        @staticmethod
        def forward(ctx, weight, input, padding_idx):
            ctx.input, ctx.padding_idx, ctx.num = input, padding_idx, weight.shape[0]
            out = weight._data[input._data].copy()
            if zero_pad_forward and padding_idx is not None:
                out[input._data == padding_idx] = 0
            return out

        @staticmethod
        def backward(ctx, grad):
            dim = grad.shape[-1]
            flat, rows = ctx.input.reshape(-1), grad.reshape(-1, dim)
            if pad_grad and ctx.padding_idx is not None:
                rows = rows * (flat != ctx.padding_idx).unsqueeze(1).to(rows.dtype)
            table = edunn.zeros(ctx.num, dim, dtype=grad.dtype)
            if overwrite:
                return table.index_put((flat,), rows, accumulate=False), None, None
            return table.index_add(0, flat, rows), None, None

    def embedding(input, weight, padding_idx=None):
        if negative_pad and padding_idx is not None and padding_idx < 0:
            padding_idx += weight.shape[0]
        return Planted.apply(weight, input, padding_idx)
    return embedding


def test_correct_embedding_gets_full_marks():
    assert_full_marks("08.embedding", make_embedding())


def test_embedding_overwrites_repeated_rows():
    assert_partial("08.embedding", make_embedding(overwrite=True), mentions="you overwrote them")


def test_embedding_padding_row_gets_gradient():
    assert_partial("08.embedding", make_embedding(pad_grad=False), mentions="the padding row received a gradient")


def test_embedding_negative_padding_idx_ignored():
    assert_partial("08.embedding", make_embedding(negative_pad=False), mentions="counts from the end")


def test_embedding_zeroes_the_padding_output():
    assert_partial("08.embedding", make_embedding(zero_pad_forward=True), mentions="still returns weight[padding_idx]")


# ---------------------------------------------------------------------------- 08.embedding_bag

def make_bag(divide=None, drop_last=False, empty_nan=False):
    def embedding_bag(input, weight, offsets, mode="mean"):
        n_bags = offsets.shape[0]
        positions = edunn.arange(input.shape[0])
        bag = (positions.unsqueeze(1) >= offsets.unsqueeze(0)).sum(1) - 1
        out = edunn.zeros(n_bags, weight.shape[1], dtype=weight.dtype).index_add(0, bag, weight[input])
        if mode == "mean":
            counts = edunn.bincount(bag, minlength=n_bags)
            if divide is not None:
                out = out / divide(input, offsets)
            elif empty_nan:
                with edunn.backend.numpy.errstate(divide="ignore", invalid="ignore"):
                    out = out / counts.unsqueeze(1).to(out.dtype)
            else:
                out = out / counts.clamp(min=1).unsqueeze(1).to(out.dtype)
        return out[:-1] if drop_last else out
    return embedding_bag


def test_correct_bag_gets_full_marks():
    assert_full_marks("08.embedding_bag", make_bag())


def test_bag_forgets_the_last_bag():
    assert_partial("08.embedding_bag", make_bag(drop_last=True), mentions="the last bag runs")


def test_bag_mean_over_the_whole_input():
    assert_partial("08.embedding_bag", make_bag(divide=lambda i, o: i.shape[0]), mentions="length of the whole input")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the planted 0 / 0, on purpose
def test_bag_mean_of_an_empty_bag_is_nan():
    assert_partial("08.embedding_bag", make_bag(empty_nan=True), mentions="max(count, 1)")


def test_bag_mean_mode_returns_sums():
    assert_partial("08.embedding_bag", make_bag(divide=lambda i, o: 1), mentions="you returned the sums")


# ---------------------------------------------------------------------------- 08.cosine_similarity

def test_cosine_clamping_the_product():
    def cosine(x1, x2, dim=1, eps=1e-8):
        return (x1 * x2).sum(dim) / (x1.norm(dim=dim) * x2.norm(dim=dim)).clamp(min=eps)
    assert_partial("08.cosine_similarity", cosine, mentions="you clamped the product of the norms")


def test_cosine_without_eps():
    def cosine(x1, x2, dim=1, eps=1e-8):
        with edunn.backend.numpy.errstate(divide="ignore", invalid="ignore"):
            return (x1 * x2).sum(dim) / (x1.norm(dim=dim) * x2.norm(dim=dim))
    assert_partial("08.cosine_similarity", cosine, mentions="max(||x||, eps)")


def test_cosine_dot_product_only():
    def cosine(x1, x2, dim=1, eps=1e-8):
        return (x1 * x2).sum(dim)
    assert_partial("08.cosine_similarity", cosine, mentions="you returned the dot products")


def test_cosine_ignores_dim():
    def cosine(x1, x2, dim=1, eps=1e-8):
        return F.cosine_similarity(x1, x2, 1, eps)
    assert_partial("08.cosine_similarity", cosine, mentions="dim=-1")


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\nimport edunn.nn as nn\nimport edunn.nn.functional as F\n"
         "from edunn.autograd import Function\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/08_dropout_embeddings.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("08.dropout", ns["dropout"])
    assert_full_marks("08.embedding", ns["embedding"])
    assert_full_marks("08.embedding_bag", ns["embedding_bag"])
    assert_full_marks("08.cosine_similarity", ns["cosine_similarity"])
