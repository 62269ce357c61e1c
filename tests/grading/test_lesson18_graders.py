"""The graders of lesson 18: the references and the notebook's solutions get full marks, the stubs
zero, planted mistakes less than full marks with a specific message; the references themselves
are checked against PyTorch (DistributedSampler, the flop counter) and against the mathematics
(the average of the shards' gradients is the whole batch's)."""

import copy
import math
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson18 as lesson18
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub, from_notebook
from edunn.lessons_support.ring import SimulatedRing

pytestmark = pytest.mark.lesson18

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "18_gpus_parallel.ipynb"
needs_solution = pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/18_gpus_parallel.ipynb is missing")

EXERCISES = {"18.matmul_cost": lesson18.matmul_cost, "18.shard": lesson18.shard,
             "18.average_gradients": lesson18.average_gradients, "18.ring_all_reduce": lesson18.ring_all_reduce}
NAMES = {"18.matmul_cost": "matmul_cost", "18.shard": "shard", "18.average_gradients": "average_gradients",
         "18.ring_all_reduce": "ring_all_reduce"}


# ---------------------------------------------------------------------------- references, stubs

@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_references_get_full_marks(exercise_id):
    assert_full_marks(exercise_id, EXERCISES[exercise_id])


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_stubs_get_zero(exercise_id):
    assert_zero(exercise_id, stub)


# ---------------------------------------------------------------------------- the references are right

def test_matmul_cost_counts_flops_as_pytorch_does():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    a, b = torch.randn(6, 5), torch.randn(5, 7)
    with FlopCounterMode(display=False) as counter:
        torch.mm(a, b)
    assert lesson18.matmul_cost(6, 5, 7)[0] == counter.get_total_flops()
    assert lesson18.matmul_cost(6, 5, 7, itemsize=2)[1] == (30 + 35 + 42) * 2


@pytest.mark.parametrize("length, world_size", [(10, 4), (8, 4), (1, 3), (2, 5), (7, 1), (13, 3)])
def test_shard_is_pytorch_distributed_sampler(length, world_size):
    torch = pytest.importorskip("torch")
    batch = edunn.arange(length)
    for rank in range(world_size):
        theirs = list(torch.utils.data.DistributedSampler(range(length), num_replicas=world_size, rank=rank,
                                                          shuffle=False))
        assert lesson18.shard_indices(length, rank, world_size) == theirs
        assert lesson18.shard(batch, rank, world_size).tolist() == theirs


def test_shard_rejects_a_rank_outside_the_world():
    with pytest.raises(ValueError, match="Invalid rank 3"):
        lesson18.shard(edunn.arange(4), 3, 3)


def test_average_of_shard_gradients_is_the_whole_batch_gradient():
    edunn.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x, y = edunn.randn(12, 5, dtype=edunn.float64), edunn.randint(0, 3, (12,))

    def grads(xs, ys):
        m = copy.deepcopy(net)
        F.cross_entropy(m(xs), ys).backward()
        return [p.grad for p in m.parameters()]

    whole = grads(x, y)
    equal = [grads(lesson18.shard(x, r, 3), lesson18.shard(y, r, 3)) for r in range(3)]
    for a, b in zip(lesson18.average_gradients(equal), whole):
        assert (a - b).abs().max().item() < 1e-12
    sizes = [7, 3, 2]
    unequal = [grads(xs, ys) for xs, ys in zip(x.split(sizes), y.split(sizes))]
    for a, b in zip(lesson18.average_gradients(unequal, sizes), whole):
        assert (a - b).abs().max().item() < 1e-12
    assert max((a - b).abs().max().item() for a, b in zip(lesson18.average_gradients(unequal), whole)) > 1e-3


@pytest.mark.parametrize("world_size, length", [(1, 3), (2, 5), (3, 3), (4, 10), (6, 31), (8, 8)])
def test_ring_reference_sums_with_ring_traffic(world_size, length):
    edunn.manual_seed(world_size)
    tensors = [edunn.randn(length, dtype=edunn.float64) for _ in range(world_size)]
    copies = [t.clone() for t in tensors]
    ring = SimulatedRing(world_size)
    out = lesson18.ring_all_reduce(tensors, ring)
    total = sum(copies[1:], copies[0].clone())
    for r in out:
        assert (r - total).abs().max().item() < 1e-12
    for t, c in zip(tensors, copies):
        assert edunn.equal(t, c)
    assert ring.steps == 2 * (world_size - 1)
    assert sum(ring.sent) == 2 * (world_size - 1) * length
    if length % world_size == 0:
        assert ring.sent == [2 * (world_size - 1) * length // world_size] * world_size


def test_simulated_ring_passes_to_the_right_and_counts():
    ring = SimulatedRing(3)
    sent = [edunn.tensor([1.0, 1.0]), edunn.tensor([2.0]), edunn.tensor([3.0, 3.0, 3.0])]
    got = ring.send_right(sent)
    assert [g.tolist() for g in got] == [[3.0, 3.0, 3.0], [1.0, 1.0], [2.0]]
    assert ring.steps == 1 and ring.sent == [2, 1, 3]
    got[1].add_(10.0)                                   # a received tensor is a copy
    assert sent[0].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="expected a list of 3 tensors"):
        ring.send_right(sent[:2])
    with pytest.raises(TypeError, match="worker 1's payload should be a tensor"):
        ring.send_right([sent[0], [2.0], sent[2]])
    with pytest.raises(ValueError, match="positive int"):
        SimulatedRing(0)


# ---------------------------------------------------------------------------- the notebook

def _build(name: str, *replacements: tuple):
    """The notebook's ``name``, with ``(old, new)`` text replacements (planted mistakes)."""
    return from_notebook(SOLUTION, name, *replacements, prelude='import math\nimport edunn\n')


@needs_solution
@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_the_notebook_solutions_get_full_marks(exercise_id):
    assert_full_marks(exercise_id, _build(NAMES[exercise_id]))


PLANTED = [
    ("18.matmul_cost", [("2 * m * k * n", "m * k * n")], "multiply AND an add"),
    ("18.matmul_cost", [("(m * k + k * n + m * n) * itemsize", "(m * k + k * n) * itemsize")], "output is written"),
    ("18.matmul_cost", [("(m * k + k * n + m * n) * itemsize", "(m * k + k * n + m * n)")], "number of elements"),
    ("18.shard", [("indices[rank:total:world_size]", "indices[rank * per_rank:(rank + 1) * per_rank]")],
     "contiguous blocks"),
    ("18.shard", [("    if padding:\n", "    if False:\n")], "the shards are unequal"),
    ("18.shard", [("(indices * math.ceil(padding / n))[:padding]", "[n - 1] * padding")], "padded with the last"),
    ("18.shard", [("    if not 0 <= rank < world_size:\n", "    if False:\n")], "should raise ValueError"),
    ("18.average_gradients", [(" / total)", ")")], "that is the sum"),
    ("18.average_gradients", [("    if counts is None:\n        counts", "    counts")], "you ignored counts"),
    ("18.average_gradients", [(" / total)", " / len(counts))")], "divided by the number of workers"),
    ("18.ring_all_reduce", [("chunks[i][c] = chunks[i][c] + received[i]", "chunks[i][c] += received[i]")],
     "the input tensors after ring_all_reduce"),
    ("18.ring_all_reduce", [("chunks[i][c] + received[i]", "received[i]")], "the sum of the"),
    ("18.ring_all_reduce", [("chunks[i][(i - step) % n] = received[i]", "chunks[i][(i + 1 - step) % n] = received[i]")],
     "the sum of the"),
    ("18.ring_all_reduce", [("for step in range(n - 1):                                  # all-gather",
                             "for step in range(0):")], "the sum of the"),
]


@needs_solution
@pytest.mark.parametrize("exercise_id, replacements, mentions", PLANTED,
                         ids=[f"{p[0]}-{p[2][:24]}" for p in PLANTED])
def test_planted_mistakes_get_partial_marks(exercise_id, replacements, mentions):
    assert_partial(exercise_id, _build(NAMES[exercise_id], *replacements), mentions=mentions)


def _naive_all_reduce(tensors, ring):
    """Whole tensors passed round the ring, n - 1 times: right sums, n times the traffic."""
    held = list(tensors)
    totals = [t.clone() for t in tensors]
    for _ in range(len(tensors) - 1):
        held = ring.send_right(held)
        totals = [a + b for a, b in zip(totals, held)]
    return totals


def _no_communication(tensors, ring):
    total = sum(tensors[1:], tensors[0].clone())
    return [total.clone() for _ in tensors]


def test_ring_shortcuts_are_named():
    assert_partial("18.ring_all_reduce", _naive_all_reduce, mentions="passed whole tensors round the ring")
    assert_partial("18.ring_all_reduce", _no_communication, mentions="nothing went through the ring")


def test_average_gradients_in_place_is_caught():
    def in_place(grads_per_worker, counts=None):
        out = grads_per_worker[0]
        for grads in grads_per_worker[1:]:
            for a, b in zip(out, grads):
                a += b
        n = len(grads_per_worker)
        return [a / n for a in out]
    assert_partial("18.average_gradients", in_place, mentions="after average_gradients")


def test_shard_returning_indices_is_named():
    def indices_only(batch, rank, world_size):
        return lesson18.shard_indices(len(batch), rank, world_size)
    assert_partial("18.shard", indices_only, mentions="should return a tensor")


def test_shard_reference_matches_math_ceil_rule():
    for length in range(1, 12):
        for world_size in range(1, 6):
            shards = [lesson18.shard_indices(length, r, world_size) for r in range(world_size)]
            assert all(len(s) == math.ceil(length / world_size) for s in shards)
            assert set().union(*map(set, shards)) == set(range(length))
