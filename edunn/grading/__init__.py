"""edunn.grading: the exercises' graders and the grading command.

For the learner, one function::

    from edunn.grading import check
    sum_to = check("02.sum_to", sum_to)    # prints feedback; returns yours or edunn's

For the lesson author (``edunn/grading/exercises/lessonNN.py``)::

    from edunn.grading import exercise, Fail

    @exercise("02.sum_to", points=3, reference="edunn.autograd.function.sum_to",
              title="reduce a broadcast gradient")
    def grade_sum_to(student, t):          # t: a Checker, see checker.py
        ...

and ``edunn.grading.testing.score`` to test a grader. For the teacher, the command::

    python -m edunn.grading lessons/*.ipynb --json grades.json      (or: edunn-grade ...)

Where things are:

=================  ===========================================================
``registry.py``    ``exercise`` (the decorator), ``Exercise``, ``Fail``, lookup
``checker.py``     ``Checker``: the checks, scoring, random inputs
``compare.py``     comparing tensors as nested lists, with readable messages
``check.py``       ``check`` and ``run_exercise``: time limit, captured output
``feedback.py``    ``Feedback``: what is printed and recorded
``notebooks.py``   making the student copy of a solution notebook
``runner.py``      ``grade_notebooks``: running notebooks with nbclient
``cli.py``         the command line
``testing.py``     helpers for testing graders
``exercises/``     the graders, one module per lesson
=================  ===========================================================
"""

from edunn.grading.check import GradingTimeout, check, run_exercise
from edunn.grading.checker import Checker
from edunn.grading.feedback import Feedback
from edunn.grading.registry import (
    Exercise,
    Fail,
    all_exercises,
    exercise,
    exercises_for_lesson,
    get_exercise,
)


def grade_notebooks(paths, **options):
    """Run and grade notebooks; see ``edunn.grading.runner.grade_notebooks``.

    Imported on first use so that ``check`` in a notebook does not load nbclient.
    """
    from edunn.grading.runner import grade_notebooks as run

    return run(paths, **options)


__all__ = [
    "Checker",
    "Exercise",
    "Fail",
    "Feedback",
    "GradingTimeout",
    "all_exercises",
    "check",
    "exercise",
    "exercises_for_lesson",
    "get_exercise",
    "grade_notebooks",
    "run_exercise",
]
