"""``check``: grade the learner's code inside the notebook and keep the lesson running.

A lesson cell ends an exercise with::

    sum_to = check("02.sum_to", sum_to)

``check`` runs the exercise's grader on the learner's ``sum_to`` and prints what it found::

      - sum_to(x of shape (2, 3), (1, 3)): expected shape (1, 3), got shape (3,)
    02.sum_to — reduce a broadcast gradient: 2/3 points
    Using edunn's reference edunn.autograd.function.sum_to for the rest of this lesson.

and returns the learner's ``sum_to`` if it scored full marks, otherwise edunn's reference, so
that the cells below run either way: a learner who is stuck on one exercise can still do the
next ones, and the untouched student copy runs from top to bottom.

While grading:

* the learner's code runs under a time limit (10 s by default; ``check(..., timeout=...)``,
  ``@exercise(timeout=...)`` or the ``EDUNN_GRADING_TIMEOUT`` environment variable change it).
  In the main thread it is enforced with ``SIGALRM``, which interrupts even a
  ``while True: pass``; elsewhere (another thread, Windows) the grader runs in a helper thread
  that is abandoned if it does not finish in time;
* what the learner's code prints is captured, and only its first few lines are shown;
* ``NotImplementedError`` (the stub) means "not done yet" and 0 points, any other exception
  is reported with its message and the learner's own line, never the grader's code.

If ``EDUNN_GRADING_RESULTS`` names a file, the result is appended to it as a JSON line; the
grading command (``python -m edunn.grading``) collects them. Grading runs the learner's code in
the learner's own process: it helps a learner and saves a teacher time, but it is not
protected against a learner who sets out to cheat (redefining ``check``, say).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
from typing import Any, Callable

from edunn.grading.checker import Checker, describe_exception
from edunn.grading.feedback import (
    FULL_MARKS,
    NO_MARKS,
    NOT_DONE,
    PARTIAL,
    SHOW_PRINTED_LINES,
    TIMED_OUT,
    Feedback,
    record,
)
from edunn.grading.registry import Exercise, Fail, get_exercise

DEFAULT_TIMEOUT = 10.0
TIMEOUT_ENV = "EDUNN_GRADING_TIMEOUT"


class GradingTimeout(BaseException):
    """Raised into the learner's code when the time limit is up.

    A ``BaseException``, like ``KeyboardInterrupt``, so that a learner's ``except Exception``
    does not swallow it.
    """


def default_timeout() -> float:
    """``$EDUNN_GRADING_TIMEOUT`` if it is set to a positive number, else 10 s."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


# ---------------------------------------------------------------------- capturing output


class _Capture(io.TextIOBase):
    """A stdout/stderr stand-in that keeps the first few lines and only counts the rest."""

    MAX_LINE = 200

    def __init__(self, keep: int = SHOW_PRINTED_LINES):
        self.keep = keep
        self.lines: list[str] = []
        self.count = 0
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            text = str(text)
        pieces = text.split("\n")
        # The first piece continues the current line; a bounded one, however long it gets.
        self._partial = (self._partial + pieces[0])[: self.MAX_LINE + 1]
        for piece in pieces[1:]:
            self._end_line()
            self._partial = piece[: self.MAX_LINE + 1]
        return len(text)

    def _end_line(self) -> None:
        self.count += 1
        if len(self.lines) < self.keep:
            line = self._partial
            self.lines.append(line if len(line) <= self.MAX_LINE else line[: self.MAX_LINE - 3] + "...")
        self._partial = ""

    def close_lines(self) -> None:
        if self._partial:
            self._end_line()


# ---------------------------------------------------------------------- the time limit


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _alarm(seconds: float):
    """Raise ``GradingTimeout`` in this (main) thread after ``seconds``.

    The timer repeats every 0.25 s after it first fires, so code that catches the first
    ``GradingTimeout`` (a bare ``except:``) is interrupted again, and once the time is up the
    result is a time-out even if the learner's code swallowed every interruption and
    returned. Any timer that was already set (pytest-timeout's, say) is restored afterwards.
    """
    expired = False
    armed = True

    def on_alarm(signum, frame):
        nonlocal expired
        if armed:  # an alarm that arrives while the timer is being taken down is ignored
            expired = True
            raise GradingTimeout()

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
    started = time.monotonic()
    try:
        yield
    finally:
        armed = False  # first, before any call: Python runs signal handlers between calls
        signal.setitimer(signal.ITIMER_REAL, 0)
        # ``None``: the previous handler was not installed from Python; the default is the best
        # that can be put back.
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if previous_delay > 0:
            remaining = max(previous_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)
    if expired:  # the learner's code caught the interruption and carried on
        raise GradingTimeout()


def _interrupt(worker: threading.Thread, patience: float = 1.0) -> None:
    """Stop the learner's code still running in ``worker`` after its time is up, so that it does
    not spin on (a daemon thread lives as long as the process, and an endless loop holding the
    GIL slows everything else down): raise ``GradingTimeout`` inside that thread with CPython's
    ``PyThreadState_SetAsyncExc``, again every 50 ms in case a bare ``except:`` swallows it,
    for ``patience`` seconds.  Code blocked in a C call (``time.sleep``, a lock) stops only
    when it is back in Python."""
    import ctypes
    if not hasattr(ctypes, "pythonapi"):  # not CPython: nothing can stop a thread
        return
    deadline = time.monotonic() + patience
    while worker.is_alive() and time.monotonic() < deadline:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(GradingTimeout))
        worker.join(0.05)


def _run_with_time_limit(function: Callable[[], Any], seconds: float) -> Any:
    if _can_use_alarm():
        with _alarm(seconds):
            return function()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, name="edunn-grading", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _interrupt(worker)
        raise GradingTimeout()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# ---------------------------------------------------------------------- grading


def _grade(exercise: Exercise, student: Any, checker: Checker) -> str:
    """Run the grader; return ``NOT_DONE`` or ``""`` (graded: the checker has the results)."""
    try:
        exercise.grader(student, checker)
    except NotImplementedError:
        return NOT_DONE
    except Fail as failure:
        checker.fail(str(failure))
    except (Exception, SystemExit) as error:  # SystemExit: the learner's code called exit()
        checker.fail(describe_exception(error, checker._grader_codes()))
    return ""


def run_exercise(exercise_id: str | Exercise, student: Any, *, timeout: float | None = None) -> Feedback:
    """Grade ``student`` with the grader of ``exercise_id`` and return the ``Feedback``.

    Prints nothing and records nothing: ``check`` does that, and tests call this directly.
    """
    exercise = get_exercise(exercise_id)
    limit = timeout if timeout is not None else exercise.timeout or default_timeout()
    checker = Checker(exercise)
    capture = _Capture()
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
            status = _run_with_time_limit(lambda: _grade(exercise, student, checker), limit)
    except GradingTimeout:
        status = TIMED_OUT
    capture.close_lines()
    seconds = time.monotonic() - started

    feedback = Feedback(
        exercise_id=exercise.id,
        title=exercise.title,
        points=0,
        max_points=exercise.points,
        status=status,
        printed=capture.lines,
        printed_lines=capture.count,
        seconds=round(seconds, 3),
    )
    if status == NOT_DONE:
        feedback.messages = ["not done yet: your code raises NotImplementedError"]
    elif status == TIMED_OUT:
        feedback.messages = [f"took longer than {_format_seconds(limit)} (an infinite loop?)"]
    else:
        points, passed, total = checker.score()
        feedback.points = points
        feedback.checks_passed, feedback.checks_total = passed, total
        feedback.messages = checker.failures()
        feedback.status = FULL_MARKS if passed == total else PARTIAL if points > 0 else NO_MARKS
    return feedback


def check(exercise_id: str, student: Any, *, timeout: float | None = None) -> Any:
    """Grade the learner's ``student`` (function, class ...), print feedback, return what to use.

    Returns ``student`` if it got full marks, otherwise the exercise's reference (with a
    one-line note), so that ``name = check("NN.name", name)`` keeps the lesson running.
    ``timeout`` is the time limit in seconds for the whole exercise.
    """
    exercise = get_exercise(exercise_id)
    feedback = run_exercise(exercise, student, timeout=timeout)
    print(feedback.render())
    record(feedback)
    if feedback.full_marks or exercise.reference is None:
        return student
    try:
        reference = exercise.resolve_reference()
    except Exception as error:  # a course bug, but the learner's notebook should go on
        print(f"(edunn's reference {exercise.reference_name()} could not be loaded: {error}; keeping yours)")
        return student
    print(f"Using edunn's reference {exercise.reference_name()} for the rest of this lesson.")
    return reference
