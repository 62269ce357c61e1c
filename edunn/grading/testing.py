"""Helpers for testing graders: the solution gets full marks, the stub zero, mistakes less.

Every grader is tested three ways (DESIGN.md, "The curriculum")::

    from edunn.grading.testing import score, stub, assert_full_marks, assert_zero, assert_partial

    def test_sum_to_grader():
        assert_full_marks("02.sum_to", edunn.autograd.function.sum_to)
        assert_zero("02.sum_to", stub)

        def forgets_keepdim(x, shape):                # a planted mistake
            return x.sum(0)
        assert_partial("02.sum_to", forgets_keepdim, mentions="shape")

``score`` runs the grader exactly as ``check`` does (time limit, captured output) but prints
nothing and records nothing, and returns ``(points, max_points, feedback_text)``.
"""

from __future__ import annotations

from typing import Any

from edunn.grading.check import run_exercise
from edunn.grading.feedback import Feedback
from edunn.grading.notebooks import read_notebook


def stub(*args: Any, **kwargs: Any) -> Any:
    """What the student copy contains before the learner writes anything: it raises."""
    raise NotImplementedError("your turn: replace this line with your code")


class StubClass:
    """A class whose every method is the stub, for exercises that grade a class."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError("your turn: replace this line with your code")


def feedback(exercise_id: str, impl: Any, *, timeout: float | None = None) -> Feedback:
    """The full ``Feedback`` for ``impl`` (statuses, messages, printed lines)."""
    return run_exercise(exercise_id, impl, timeout=timeout)


def score(exercise_id: str, impl: Any, *, timeout: float | None = None) -> tuple[float, float, str]:
    """``(points, max_points, feedback_text)`` for ``impl``; the text is what ``check`` prints."""
    result = run_exercise(exercise_id, impl, timeout=timeout)
    return result.points, result.max_points, result.render()


def assert_full_marks(exercise_id: str, impl: Any, *, timeout: float | None = None) -> Feedback:
    """Fail the test unless ``impl`` gets full marks (the solution, edunn's reference)."""
    result = run_exercise(exercise_id, impl, timeout=timeout)
    assert result.full_marks, f"{exercise_id}: expected full marks, got:\n{result.render()}"
    return result


def assert_zero(exercise_id: str, impl: Any = stub, *, timeout: float | None = None) -> Feedback:
    """Fail the test unless ``impl`` (the stub, by default) gets 0 points."""
    result = run_exercise(exercise_id, impl, timeout=timeout)
    assert result.points == 0, f"{exercise_id}: expected 0 points, got:\n{result.render()}"
    return result


def assert_partial(
    exercise_id: str,
    impl: Any,
    *,
    mentions: str | None = None,
    timeout: float | None = None,
) -> Feedback:
    """Fail the test unless ``impl`` (a planted mistake) gets less than full marks.

    ``mentions``: a piece of text the feedback must contain, to make sure the mistake is
    explained and not only penalised (``mentions="bias correction"``).
    """
    result = run_exercise(exercise_id, impl, timeout=timeout)
    text = result.render()
    assert not result.full_marks, f"{exercise_id}: the planted mistake got full marks:\n{text}"
    if mentions is not None:
        assert mentions in text, f"{exercise_id}: the feedback does not mention {mentions!r}:\n{text}"
    return result


def from_notebook(path: Any, name: str, *replacements: tuple, prelude: str = "import edunn\n",
                  needs: tuple = ()) -> Any:
    """The function or class ``name`` as a solution notebook defines it, run in a fresh namespace
    (``prelude`` first, then the cells defining each of ``needs``, then ``name``'s cell), with
    ``(old, new)`` text replacements applied to ``name``'s cell -- how a grader test plants a
    mistake in the notebook's own solution.  ``check(...)`` calls in those cells return the
    implementation, as they do on full marks."""
    cells = {}
    for cell in read_notebook(path).cells:
        if cell.cell_type != "code":
            continue
        for wanted in (*needs, name):
            if any(f"{kind} {wanted}{end}" in cell.source for kind, end in (("def", "("), ("class", "("), ("class", ":"))):
                cells[wanted] = cell.source
    namespace: dict = {}
    exec(prelude, namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for wanted in needs:
        exec(compile(cells[wanted], f"<{wanted} cell>", "exec"), namespace)
    source = cells[name]
    for old, new in replacements:
        assert old in source, f"planted mistake: {old!r} is not in the solution of {name}"
        source = source.replace(old, new)
    exec(compile(source, f"<{name} cell>", "exec"), namespace)
    return namespace[name]
