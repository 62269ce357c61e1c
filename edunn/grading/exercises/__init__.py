"""The graders of every lesson: ``lessonNN.py`` holds the exercises of lesson ``NN``.

A lesson author adds ``edunn/grading/exercises/lesson05.py`` and declares its exercises with
``@exercise("05.name", ...)`` (see ``edunn/grading/registry.py`` and ``checker.py``). Nothing
needs to be listed here: the modules are found by name and imported the first time one of
their exercises is asked for, so a notebook that checks a lesson-02 exercise never imports the
graders (and through them the library pieces) of lesson 11.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

_LESSON_MODULE = re.compile(r"^lesson(?P<number>\d+)$")


def lesson_modules() -> dict[int, str]:
    """``{lesson number: module name}`` for every ``lessonNN.py`` in this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        match = _LESSON_MODULE.match(info.name)
        if match:
            found[int(match["number"])] = f"{__name__}.{info.name}"
    return dict(sorted(found.items()))


def load_lesson(lesson: int) -> bool:
    """Import the graders of lesson ``lesson``; ``False`` if that lesson has none.

    An error inside the lesson module (a syntax error, a failing import) propagates, with the
    module named, because it is a bug in the course rather than in the learner's code.
    """
    module = lesson_modules().get(int(lesson))
    if module is None:
        return False
    try:
        importlib.import_module(module)
    except Exception as error:
        raise ImportError(f"the graders of lesson {int(lesson):02d} ({module}) failed to load: "
                          f"{type(error).__name__}: {error}") from error
    return True


def load_all() -> None:
    """Import the graders of every lesson."""
    for lesson in lesson_modules():
        load_lesson(lesson)
