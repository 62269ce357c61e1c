"""A toy exercise, "99.add", for testing the grading machinery without the library."""

import pytest

from edunn.grading import exercise
from edunn.grading.registry import unregister


def reference_add(a, b):
    return a + b


@pytest.fixture
def toy():
    """Register "99.add" (3 points, one unit per random pair) and remove it afterwards."""

    @exercise("99.add", points=3, reference=reference_add, title="add two numbers")
    def grade_add(student, t):
        for _ in range(3):
            a, b = t.rng.randint(-9, 9), t.rng.randint(1, 9)
            t.close(student(a, b), a + b, f"add({a}, {b})")

    yield "99.add"
    unregister("99.add")


@pytest.fixture
def register():
    """Register ad-hoc exercises inside a test: ``register("99.x", grader, points=2)``."""
    ids = []

    def make(exercise_id, grader, **options):
        exercise(exercise_id, **options)(grader)
        ids.append(exercise_id)
        return exercise_id

    yield make
    for exercise_id in ids:
        unregister(exercise_id)
