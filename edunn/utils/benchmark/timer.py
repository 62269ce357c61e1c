"""``Timer``: measure how long a statement takes (PyTorch's ``torch/utils/benchmark/utils/timer.py``).

Built on ``timeit.Timer``, with what PyTorch adds: the statement runs with ``num_threads``
threads (``edunn.set_num_threads``, default 1, so results do not depend on the machine's core
count), the GPU is synchronized before the clock is read (the default ``timer``), ``edunn`` is
in the statement's globals as ``torch`` (so PyTorch benchmark snippets run unchanged), results
are ``Measurement``s that carry their labels, and ``blocked_autorange`` picks a block size so
the timer's own cost is negligible.

``language="cpp"`` compiles C++ against libtorch in PyTorch; edunn has no C++ API, so it is
refused with a ``ValueError`` that says so.  ``repeat`` and ``autorange`` raise
``NotImplementedError`` pointing to ``blocked_autorange``, exactly as PyTorch's do.
"""
from __future__ import annotations

import enum
import textwrap
import timeit
from collections.abc import Callable
from typing import Any, NoReturn

from . import callgrind, common

__all__ = ["Timer", "timer", "Language"]


def timer() -> float:
    """``timeit.default_timer()``, after waiting for the GPU when there is one (a kernel still
    running would otherwise be timed as finished)."""
    import edunn
    if edunn.cuda.is_available():
        edunn.cuda.synchronize()
    return timeit.default_timer()


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


class Timer:
    """Helper class for measuring execution time of statements (``torch.utils.benchmark.Timer``).

    Args:
        stmt: code to time; setup: code run once before (both strings, dedented).
        global_setup: C++ only in PyTorch (an error for Python, as there).
        timer: the clock; globals: the statement's global variables (``torch`` is added,
            bound to ``edunn``).
        label, sub_label, description, env: labels carried into the ``Measurement`` and used
            by ``Compare`` (table, row, column, A/B environment).
        num_threads: edunn's thread count while timing (``edunn.set_num_threads``).
        language: ``"python"`` (``Language.PYTHON``).

    Example::

        t = Timer("x @ x", setup="x = torch.randn(64, 64)", label="matmul")
        print(t.blocked_autorange(min_run_time=0.2))
    """

    _timer_cls: type = timeit.Timer

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict[str, Any] | None = None,
                 label: str | None = None, sub_label: str | None = None,
                 description: str | None = None, env: str | None = None, num_threads: int = 1,
                 language: Language | str = Language.PYTHON) -> None:
        import edunn
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        # a copy, so that eval's additions (``__builtins__``) do not leak into the caller's dict
        self._globals = dict(globals or {})
        if language in (Language.PYTHON, "py", "python"):
            self._globals.setdefault("torch", edunn)
            self._language: Language = Language.PYTHON
            if global_setup:
                raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely this "
                                 "code can simply be moved to `setup`.")
        elif language in (Language.CPP, "cpp", "c++"):
            raise ValueError("language='cpp' times C++ code compiled against libtorch; edunn is pure "
                             "Python and has no C++ API, so only Language.PYTHON is available.")
        else:
            raise ValueError(f"Invalid language `{language}`.")
        # snippets written as indented block strings: dedent, drop the first newline
        stmt = textwrap.dedent(stmt)
        stmt = (stmt[1:] if stmt and stmt[0] == "\n" else stmt).rstrip()
        setup = textwrap.dedent(setup)
        setup = (setup[1:] if setup and setup[0] == "\n" else setup).rstrip()
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer,
                                      globals=callgrind.CopyIfCallgrind.unwrap_all(self._globals))
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                          label=label, sub_label=sub_label, description=description,
                                          env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        # no real operation takes under a nanosecond (and this avoids dividing by zero)
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times (after a warm-up of ``number // 100``) and return the
        total as one measurement -- ``timeit.Timer.timeit``'s semantics."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return common.Measurement(number_per_run=number, raw_times=[self._timeit(number=number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], NoReturn] | None = None) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _threaded_measurement_loop(self, number: int, time_hook: Callable[[], float],
                                   stop_hook: Callable[[list[float]], bool], min_run_time: float,
                                   max_run_time: float | None = None,
                                   callback: Callable[[int, float], NoReturn] | None = None) -> list[float]:
        total_time = 0.0
        can_stop = False
        times: list[float] = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while (total_time < min_run_time) or (not can_stop):
                time_spent = time_hook()
                times.append(time_spent)
                total_time += time_spent
                if callback:
                    callback(number, time_spent)
                can_stop = stop_hook(times)
                if max_run_time and total_time > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        """The smallest power of ten of runs whose time dwarfs the timer's own overhead (1e-4)
        and is at least a thousandth of ``min_run_time`` (this is also the warm-up)."""
        import edunn
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = edunn.tensor([self._timeit(0) for _ in range(5)]).median().item()
            number = 1
            while True:
                time_taken = self._timeit(number)
                relative_overhead = overhead / time_taken
                if relative_overhead <= 1e-4 and time_taken >= min_run_time / 1000:
                    break
                if time_taken > min_run_time:
                    break
                if number * 10 > 2147483647:   # PyTorch's C++ timer's limit, kept for equal numbers
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback: Callable[[int, float], NoReturn] | None = None,
                          min_run_time: float = 0.2) -> common.Measurement:
        """Time blocks of ``block_size`` runs until ``min_run_time`` seconds have passed::

            setup
            total_time = 0
            while total_time < min_run_time:
                start = timer()
                for _ in range(block_size):
                    stmt
                total_time += timer() - start

        ``block_size`` balances many replicates (good statistics) against amortizing the timer
        (an unbiased measurement); ``callback(number, time)`` is called after each block."""
        number = self._estimate_block_size(min_run_time)
        times = self._threaded_measurement_loop(number, lambda: self._timeit(number), lambda times: True,
                                                min_run_time=min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0,
                           callback: Callable[[int, float], NoReturn] | None = None) -> common.Measurement:
        """Like ``blocked_autorange`` (with a block size of a ``0.05`` s target), but keeps
        measuring until the interquartile range is below ``threshold`` of the median (with more
        than 3 blocks and ``min_run_time`` spent) or ``max_run_time`` is spent."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times: list[float]) -> bool:
            if len(times) > 3:
                return common.Measurement(number_per_run=number, raw_times=times,
                                          task_spec=self._task_spec).meets_confidence(threshold=threshold)
            return False
        times = self._threaded_measurement_loop(number, lambda: self._timeit(number), stop_hook,
                                                min_run_time, max_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(self, number: int = 100, *, repeats: int | None = None,
                          collect_baseline: bool = True, retain_out_file: bool = False) -> Any:
        """Count instructions with Valgrind's Callgrind.  PyTorch's checks are made (a string
        ``stmt``, ``repeats >= 1``, a statement that runs); then ``OSError``, since edunn has no
        Callgrind bindings -- see ``callgrind.py``."""
        if not isinstance(self._task_spec.stmt, str):
            raise ValueError("`collect_callgrind` currently only supports string `stmt`")
        if repeats is not None and repeats < 1:
            raise ValueError("If specified, `repeats` must be >= 1")
        self._timeit(1)   # a faulty stmt or setup fails here, in this process
        return callgrind.collect_callgrind(self._task_spec, number, repeats)
