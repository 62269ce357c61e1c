"""The ``Checker``: what a grader uses to check the learner's code and explain what is wrong.

A grader is a function ``grader(student, t)``; ``t`` is a ``Checker``. Every check records a
result and returns ``True`` when it passed, so a grader can stop early::

    @exercise("05.relu", points=2, reference="edunn.nn.functional.relu", title="ReLU")
    def grade_relu(student, t):
        x = t.randn(4, 5)
        with t.group("forward"):
            t.close(student(x), t.reference(x), "relu(x)")
        with t.group("gradient"):
            x = t.randn(4, 5, requires_grad=True)
            student(x).sum().backward()
            t.close(x.grad, (x > 0).float(), "the gradient of relu(x).sum()",
                    hint="the derivative of max(0, x) is 1 where x > 0 and 0 elsewhere")

The checks:

``t.ok(condition, message)``
    passes when ``condition`` is true; ``message`` is shown when it is not.
``t.close(actual, expected, what, rtol=1e-5, atol=1e-6, hint=None, mistakes=None)``
    numbers/tensors equal within tolerance and of the same shape. ``what`` names the value
    ("the gradient of relu(x).sum()"). ``mistakes={"you forgot the bias correction": value}``
    recognises a known wrong answer and puts that diagnosis in front of the message.
``t.equal(actual, expected, what, hint=None)``
    exact equality, for shapes, dtypes, counts, strings.
``t.raises(exception, function, *args, what=None, **kwargs)``
    calling ``function(*args, **kwargs)`` raises ``exception`` (a type or a tuple of types).
``t.fail(message)``
    a failed check, for conditions worked out by hand.
``raise Fail(message)``
    a failed check that also stops the current group (or the grading).

Scoring (the points are the exercise's, set in ``@exercise(points=...)``):

* A **unit** is either one check made outside any group, or a whole ``with t.group(title):``
  block, which is all-or-nothing: it passes only if every check inside passed and nothing
  raised. The score is ``points * passed units / units``, rounded to 2 decimals, and full
  marks only if every unit passed. Put the checks that belong together (the forward pass,
  the gradient, an error case) in a group, and leave randomized repetitions ungrouped when
  each should earn its share.
* An exception from the learner's code inside a group fails that group, with the exception
  and the learner's line as the message, and grading goes on with the next group. Outside a
  group it ends the grading: the units checked so far keep their result. So call the
  learner's code inside groups when later groups can still be checked.
* ``NotImplementedError`` anywhere means "not done yet": 0 points for the exercise. So does a
  time-out. Neither is caught by a group.
* Only the first failure of a group is shown (later ones are usually its consequences).

Random data: ``t.rng`` is a ``random.Random`` seeded from the exercise id, so a grader sees
the same inputs on every run; ``t.randn``, ``t.rand`` and ``t.randint`` build edunn tensors
from it (``t.randn(2, 3, requires_grad=True)``).
"""

from __future__ import annotations

import contextlib
import linecache
import random
import sysconfig
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from edunn.grading.compare import compare_close, describe_value, format_number
from edunn.grading.registry import Exercise, Fail

EDUNN_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Unit:
    """One scored unit: a single check, or a whole group of checks."""

    title: str | None
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class Checker:
    """The ``t`` a grader receives; see the module docstring for the checks and the scoring."""

    def __init__(self, exercise: Exercise, seed: int | None = None):
        self.exercise = exercise
        if seed is None:
            seed = exercise.seed if exercise.seed is not None else zlib.crc32(exercise.id.encode())
        self.rng = random.Random(seed)
        self.units: list[Unit] = []
        self._group: Unit | None = None
        self._group_titles: list[str] = []

    # ------------------------------------------------------------------ what graders read

    @property
    def reference(self) -> Any:
        """edunn's implementation of the exercise (``@exercise(reference=...)``)."""
        return self.exercise.resolve_reference()

    @property
    def passed(self) -> bool:
        """True while no check has failed (so far)."""
        return all(unit.ok for unit in self.units)

    # ------------------------------------------------------------------ the checks

    def ok(self, condition: Any, message: str) -> bool:
        """A check that passes when ``condition`` is true; ``message`` says what went wrong."""
        return self._record(bool(condition), message)

    def fail(self, message: str) -> bool:
        """A failed check with ``message``; returns ``False``."""
        return self._record(False, message)

    def close(
        self,
        actual: Any,
        expected: Any,
        what: str,
        rtol: float = 1e-5,
        atol: float = 1e-6,
        *,
        hint: str | None = None,
        mistakes: dict[str, Any] | None = None,
        equal_nan: bool = False,
    ) -> bool:
        """``actual`` equals ``expected`` within ``atol + rtol * |expected|``, same shape.

        ``what`` describes ``actual`` for the message ("the gradient of x"). ``hint`` is added
        to the message on failure. ``mistakes`` maps a diagnosis to the value a known mistake
        would produce; if ``actual`` matches one, the diagnosis leads the message::

            t.close(moved, 0.001, "step 1 moved the parameter by",
                    mistakes={"your Adam update is missing bias correction": 0.0316})
            # -> "your Adam update is missing bias correction: step 1 moved the
            #     parameter by: got 0.0316, expected 0.001"
        """
        problem = compare_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan)
        if problem is None:
            return self._record(True, "")
        message = f"{what}: {problem}"
        for diagnosis, wrong in (mistakes or {}).items():
            try:
                recognised = compare_close(actual, wrong, rtol=rtol, atol=atol, equal_nan=equal_nan) is None
            except Exception:
                recognised = False
            if recognised:
                message = f"{diagnosis}: {message}"
                break
        if hint:
            message += f" (hint: {hint})"
        return self._record(False, message)

    def equal(self, actual: Any, expected: Any, what: str, *, hint: str | None = None) -> bool:
        """``actual == expected`` exactly (shapes, dtypes, counts, strings)."""
        try:
            same = bool(actual == expected)
        except Exception:
            same = False
        if same:
            return self._record(True, "")
        got = format_number(actual) if isinstance(actual, (int, float)) else describe_value(actual)
        want = format_number(expected) if isinstance(expected, (int, float)) else describe_value(expected)
        message = f"{what}: got {got}, expected {want}"
        if hint:
            message += f" (hint: {hint})"
        return self._record(False, message)

    def raises(
        self,
        exception: type[BaseException] | tuple[type[BaseException], ...],
        function: Callable,
        *args: Any,
        what: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """Calling ``function(*args, **kwargs)`` raises ``exception``.

        ``NotImplementedError`` still means "not done yet" unless it is the one expected.
        """
        names = exception if isinstance(exception, tuple) else (exception,)
        expected = " or ".join(e.__name__ for e in names)
        what = what or f"calling {getattr(function, '__name__', 'it')}(...)"
        try:
            function(*args, **kwargs)
        except exception:
            return self._record(True, "")
        except NotImplementedError:
            raise
        except Exception as error:
            return self._record(False, f"{what} should raise {expected}, but it raised {_headline(error)}")
        return self._record(False, f"{what} should raise {expected}, but it returned normally")

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Checks that score together, all-or-nothing. Exceptions inside fail the group.

        Groups may nest; a nested group is part of the outer one's unit and only adds its
        title to the messages.
        """
        outer = self._group
        if outer is None:
            self._group = Unit(title)
            self.units.append(self._group)
        self._group_titles.append(title)
        try:
            yield
        except NotImplementedError:
            raise
        except Fail as failure:
            self._record(False, str(failure))
        except Exception as error:
            self._record(False, describe_exception(error, self._grader_codes()))
        finally:
            self._group_titles.pop()
            if outer is None:
                self._group = None

    # ------------------------------------------------------------------ random inputs

    def randn(self, *shape: int | tuple[int, ...], **tensor_kwargs: Any) -> Any:
        """An edunn tensor of standard-normal values from ``t.rng``; kwargs go to ``edunn.tensor``."""
        return self.tensor(self._nested(_shape(shape), lambda: self.rng.gauss(0.0, 1.0)), **tensor_kwargs)

    def rand(self, *shape: int | tuple[int, ...], low: float = 0.0, high: float = 1.0, **tensor_kwargs: Any) -> Any:
        """An edunn tensor of values uniform in ``[low, high)`` from ``t.rng``."""
        return self.tensor(self._nested(_shape(shape), lambda: self.rng.uniform(low, high)), **tensor_kwargs)

    def randint(self, low: int, high: int, shape: tuple[int, ...], **tensor_kwargs: Any) -> Any:
        """An edunn tensor of integers in ``[low, high)`` from ``t.rng`` (like ``torch.randint``)."""
        return self.tensor(self._nested(tuple(shape), lambda: self.rng.randrange(low, high)), **tensor_kwargs)

    def tensor(self, data: Any, **tensor_kwargs: Any) -> Any:
        """``edunn.tensor(data, **tensor_kwargs)``, imported only when a grader needs it."""
        import edunn

        return edunn.tensor(data, **tensor_kwargs)

    def _nested(self, shape: tuple[int, ...], draw: Callable[[], Any]) -> Any:
        if not shape:
            return draw()
        return [self._nested(shape[1:], draw) for _ in range(shape[0])]

    # ------------------------------------------------------------------ bookkeeping

    def _record(self, passed: bool, message: str) -> bool:
        unit = self._group
        if unit is None:
            unit = Unit(None)
            self.units.append(unit)
        if passed:
            unit.passed += 1
        else:
            inner = self._group_titles[1:] if unit.title is not None else []
            prefix = "".join(f"{title}: " for title in ([unit.title] if unit.title else []) + inner)
            unit.failures.append(prefix + message)
        return passed

    def _grader_codes(self) -> set:
        code = getattr(self.exercise.grader, "__code__", None)
        return {code} if code is not None else set()

    def score(self) -> tuple[float, int, int]:
        """``(points, passed units, units)`` for what was checked so far."""
        total = len(self.units)
        passed = sum(unit.ok for unit in self.units)
        points = self.exercise.points
        if passed == total:
            return points, passed, total
        share = round(points * passed / total, 2)
        return min(share, round(points - 0.01, 2)), passed, total

    def failures(self) -> list[str]:
        """The first failure message of every failed unit, in order."""
        return [unit.failures[0] for unit in self.units if unit.failures]


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


# ---------------------------------------------------------------------- explaining exceptions

_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(key))
)


def _is_learner_frame(frame: Any, skip_codes: set) -> bool:
    """Code the learner wrote: not edunn, not the standard library or an installed package."""
    if frame.f_code in skip_codes:
        return False
    filename = frame.f_code.co_filename
    if filename.startswith("<frozen") or filename.startswith("<string>"):
        return False
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return True
    if path == EDUNN_DIR or EDUNN_DIR in path.parents:
        return False
    return not str(path).startswith(_LIBRARY_DIRS)


def _headline(error: BaseException) -> str:
    """``"ZeroDivisionError: division by zero"``, the message cut to a few short lines."""
    text = str(error).strip()
    lines = text.splitlines()
    if len(lines) > 3:
        lines = lines[:3] + ["..."]
    text = "\n".join(lines)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def learner_frame(error: BaseException, skip_codes: set = frozenset()) -> tuple[str, int, str] | None:
    """``(function, line number, source line)`` of the innermost frame of the learner's code."""
    found = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if _is_learner_frame(frame, skip_codes):
            found = (frame, lineno)
    if found is None:
        return None
    frame, lineno = found
    source = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
    return frame.f_code.co_name, lineno, source


def describe_exception(error: BaseException, skip_codes: set = frozenset()) -> str:
    """Explain an exception to the learner without showing the grader's code.

    If the learner's own code raised it, say so and show their line; otherwise the exception
    came from checking what their code returned (a ``None``, a wrong type ...).
    """
    where = learner_frame(error, skip_codes)
    if where is None:
        return f"checking your code's result raised {_headline(error)}"
    function, lineno, source = where
    place = "your cell" if function == "<module>" else function
    line = f": {source}" if source else ""
    return f"your code raised {_headline(error)}\n    in {place}, line {lineno}{line}"
