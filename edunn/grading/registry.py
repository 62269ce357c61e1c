"""Exercises and the registry that finds them.

An exercise is one thing a learner writes in a lesson (a function, a class, a method) together
with the grader that checks it. Graders live next to each other, one module per lesson, in
``edunn/grading/exercises/lessonNN.py``, and are declared with the ``exercise`` decorator::

    import edunn
    from edunn.grading import exercise

    @exercise("02.sum_to", points=3, reference="edunn.autograd.function.sum_to",
              title="reduce a broadcast gradient")
    def grade_sum_to(student, t):
        x = t.randn(2, 3)
        t.close(student(x, (1, 3)), x.sum(0, keepdim=True), "sum_to(x of shape (2, 3), (1, 3))")

* ``id`` is ``"NN.name"``: the lesson number, a dot, a short name. The lesson number is how the
  grading command knows which exercises a notebook ``NN_topic.ipynb`` should contain.
* ``points`` is what the exercise is worth; the ``Checker`` (see ``checker.py``) explains how
  partial credit is computed from the checks the grader makes.
* ``reference`` is edunn's own implementation: an object, or a dotted path such as
  ``"edunn.nn.Linear"`` that is imported only when needed (so declaring an exercise never
  imports half the library). ``check`` hands it back to a learner whose code did not get full
  marks, so the rest of the lesson still runs; graders read it as ``t.reference``. A tuple of
  those is allowed for an exercise about several objects at once.
* ``title`` is the few words printed with the score.
* ``timeout`` (seconds) overrides the default time limit, for an exercise that trains a model.

The registry is filled lazily: ``get_exercise("02.sum_to")`` imports
``edunn.grading.exercises.lesson02`` the first time an exercise of lesson 02 is asked for.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

_ID = re.compile(r"^(?P<lesson>\d+)\.(?P<name>[A-Za-z_][A-Za-z0-9_.]*)$")

Grader = Callable[[Any, Any], None]


class Fail(Exception):
    """Raised by a grader to fail the current check group (or the grading) with a message.

    ``raise Fail("your loss is negative")`` inside ``with t.group(...)`` fails that group and
    grading goes on with the next one; outside any group it ends the grading. It is the way
    to stop when checking further makes no sense (the output has the wrong shape, say).
    """


@dataclass
class Exercise:
    """One gradable exercise: its id, points, grader and reference (see the module docstring)."""

    id: str
    grader: Grader
    points: float = 1
    reference: Any = None
    title: str = ""
    timeout: float | None = None
    seed: int | None = None
    _resolved: Any = field(default=None, repr=False, compare=False)

    @property
    def lesson(self) -> int:
        """The lesson number, the part of the id before the dot (``"02.sum_to"`` -> 2)."""
        return lesson_of(self.id)

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def label(self) -> str:
        """``"02.sum_to — reduce a broadcast gradient"``, or just the id without a title."""
        return f"{self.id} — {self.title}" if self.title else self.id

    def resolve_reference(self) -> Any:
        """The reference object, importing it the first time if it was given as a path."""
        if self.reference is None:
            return None
        if self._resolved is None:
            self._resolved = _resolve(self.reference)
        return self._resolved

    def reference_name(self) -> str:
        """A readable name for the reference, for the "will be used instead" note."""
        return _describe(self.reference)


def lesson_of(exercise_id: str) -> int:
    """The lesson number of an exercise id; ``ValueError`` if the id is not ``NN.name``."""
    match = _ID.match(exercise_id)
    if match is None:
        raise ValueError(
            f"exercise id {exercise_id!r} should look like 'NN.name': the lesson number, a dot "
            "and a short name, e.g. '02.sum_to'"
        )
    return int(match["lesson"])


def _resolve(reference: Any) -> Any:
    if isinstance(reference, (tuple, list)):
        return type(reference)(_resolve(item) for item in reference)
    if not isinstance(reference, str):
        return reference
    parts = reference.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only "this prefix is not a module" means: try a shorter one.
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            raise LookupError(f"reference {reference!r}: {module_name} has no {'.'.join(parts[split:])}") from None
        return obj
    raise LookupError(f"reference {reference!r} cannot be imported")


def _describe(reference: Any) -> str:
    if isinstance(reference, (tuple, list)):
        return ", ".join(_describe(item) for item in reference)
    if isinstance(reference, str):
        return reference
    module = getattr(reference, "__module__", None)
    name = getattr(reference, "__qualname__", None) or getattr(reference, "__name__", None)
    if name is None:
        return type(reference).__name__
    return f"{module}.{name}" if module and module != "builtins" else name


# ---------------------------------------------------------------------------- the registry

_REGISTRY: dict[str, Exercise] = {}


def exercise(
    id: str,
    *,
    points: float = 1,
    reference: Any = None,
    title: str = "",
    timeout: float | None = None,
    seed: int | None = None,
) -> Callable[[Grader], Grader]:
    """Decorator declaring ``grader(student, t)`` as the grader of exercise ``id``.

    The grader receives the learner's object and a ``Checker`` ``t``; it returns nothing and
    reports through ``t``'s checks. The decorated function is returned unchanged (it also
    gets an ``exercise`` attribute holding the ``Exercise``).

    Declaring an id twice raises ``ValueError``, unless it is the same grader declared again
    (a notebook cell or a module run a second time), which replaces the old one.
    """
    lesson_of(id)
    if not points > 0:
        raise ValueError(f"exercise {id!r}: points must be positive, got {points!r}")

    def register(grader: Grader) -> Grader:
        if not callable(grader):
            raise TypeError(f"@exercise({id!r}) must decorate a function grader(student, t)")
        old = _REGISTRY.get(id)
        if old is not None and _origin(old.grader) != _origin(grader):
            raise ValueError(
                f"exercise {id!r} is declared twice: by {_origin(old.grader)} and by {_origin(grader)}"
            )
        ex = Exercise(id, grader, points, reference, title, timeout, seed)
        _REGISTRY[id] = ex
        grader.exercise = ex  # type: ignore[attr-defined]
        return grader

    return register


def _origin(function: Callable) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


def unregister(exercise_id: str) -> None:
    """Forget an exercise (tests use this to clean up the toy exercises they declare)."""
    _REGISTRY.pop(exercise_id, None)


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``, loading its lesson's graders if needed.

    Raises ``LookupError`` naming the closest ids if there is no such exercise.
    """
    if isinstance(exercise_id, Exercise):
        return exercise_id
    if exercise_id not in _REGISTRY:
        from edunn.grading import exercises

        exercises.load_lesson(lesson_of(exercise_id))
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        known = sorted(_REGISTRY)
        close = difflib.get_close_matches(exercise_id, known, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise LookupError(f"there is no exercise {exercise_id!r}{hint}") from None


def exercises_for_lesson(lesson: int | str) -> list[Exercise]:
    """Every exercise of lesson ``lesson`` (an int or a string such as ``"02"``), by id."""
    from edunn.grading import exercises

    number = int(lesson)
    exercises.load_lesson(number)
    return sorted((ex for ex in _REGISTRY.values() if ex.lesson == number), key=lambda ex: ex.id)


def all_exercises() -> list[Exercise]:
    """Every exercise of every lesson, by id (imports all the lesson modules)."""
    from edunn.grading import exercises

    exercises.load_all()
    return sorted(_REGISTRY.values(), key=lambda ex: ex.id)
