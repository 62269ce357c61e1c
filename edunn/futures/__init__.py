"""``edunn.futures``: a value that will exist later, as ``torch.futures`` (lesson 18).

A :class:`Future` stands for the result of work that has started but may not have finished -- an
all-reduce running on the network, say.  Code that needs the result calls ``wait()``; code that
only wants to *chain* more work calls ``then(fn)``, which returns a new future of ``fn(this)``
run as soon as this one completes.  DDP communication hooks are written this way: the hook starts
an all-reduce and returns ``work.get_future().then(lambda f: f.value()[0] / world_size)``.

A future is completed exactly once, by ``set_result(value)`` or ``set_exception(error)``;
``wait()`` then returns the value or raises the error.  Two kinds of producers complete one:

* someone calls ``set_result``/``set_exception`` (possibly another thread: ``wait`` blocks on a
  ``threading.Event``);
* a *driver* attached by the library (``Work.get_future()`` in ``edunn.distributed``): ``done()``
  asks the driver's non-blocking ``poll`` and ``wait()`` calls the driver, which waits for the
  work (with the work's own time-out) and completes the future.  PyTorch completes such futures
  from a background thread; polling from the caller gives the same results with no thread.

``collect_all`` makes one future out of many; ``wait_all`` waits for many and returns their values.
"""
from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S")

__all__ = ["Future", "collect_all", "wait_all"]


class Future(Generic[T]):
    """A result that will be set once: ``wait()``, ``value()``, ``done()``, ``then(fn)``,
    ``add_done_callback(fn)``, ``set_result(v)``, ``set_exception(e)``, as
    ``torch.futures.Future``.  ``devices`` (CUDA devices the value's tensors live on) is kept for
    PyTorch's signature; CuPy arrays need no stream bookkeeping here because waiting on a
    collective already synchronises its stream."""

    def __init__(self, *, devices: list | None = None) -> None:
        self._devices = list(devices) if devices is not None else []
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list = []
        self._poll: Callable[[], bool] | None = None     # see _drive_with
        self._driver: Callable[[], None] | None = None

    # -- producers --------------------------------------------------------------------------
    def _drive_with(self, poll: Callable[[], bool], driver: Callable[[], None]) -> "Future":
        """Attach a producer: ``poll()`` says without blocking whether the result is ready,
        ``driver()`` blocks until it is and completes this future (``set_result``/``set_exception``)."""
        self._poll, self._driver = poll, driver
        return self

    def _complete(self, value: Any, exception: BaseException | None) -> None:
        with self._lock:
            if self._event.is_set():
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that "
                                   "a Future can only be marked completed once.")
            self._value, self._exception = value, exception
            self._poll = self._driver = None
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            self._run_callback(cb)

    def _run_callback(self, cb: Callable) -> None:
        try:
            cb(self)
        except Exception as e:   # PyTorch logs a failing done-callback and goes on
            warnings.warn(f"Got the following error when running the callback: "
                          f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=3)

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``; waiters wake and ``then`` callbacks run now."""
        self._complete(result, None)

    def set_exception(self, result: T) -> None:
        """Complete the future with an error: ``wait()`` will raise ``result``."""
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    # -- consumers --------------------------------------------------------------------------
    def done(self) -> bool:
        """Whether the future has a value or an error (without blocking)."""
        if self._event.is_set():
            return True
        poll = self._poll
        if poll is not None and poll():
            self._drive()
        return self._event.is_set()

    def _drive(self) -> None:
        driver = self._driver
        if driver is not None and not self._event.is_set():
            driver()

    def wait(self) -> T:
        """Block until the future completes; return its value or raise its error."""
        self._drive()
        self._event.wait()
        if self._exception is not None:
            raise self._exception
        return self._value

    def value(self) -> T:
        """The value of a completed future (raise its error); unlike ``wait`` it never blocks."""
        if not self.done():
            raise RuntimeError("Future.value() was called on a future that has not completed; call "
                               "wait() first (or use value() inside a then() callback)")
        return self.wait()

    def then(self, callback: Callable[["Future[T]"], S]) -> "Future[S]":
        """A new future of ``callback(self)``, run once this future completes.  If the callback
        raises (``self.value()`` re-raises this future's error, say), the new future holds a
        ``RuntimeError`` naming it, as PyTorch's."""
        if not callable(callback):
            raise TypeError(f"then() needs a callable, but got {type(callback).__name__}")
        child: Future = Future(devices=self._devices)

        def run(parent: Future) -> None:
            try:
                out = callback(parent)
            except Exception as e:
                child.set_exception(RuntimeError(
                    f"Got the following error when running the callback: {type(e).__name__}: {e}"))
                return
            child.set_result(out)
        child._drive_with(self.done, self._wait_quietly)
        self.add_done_callback(run)
        return child

    def _wait_quietly(self) -> None:
        try:
            self.wait()
        except Exception:
            pass          # the error reaches the child through its callback

    def add_done_callback(self, callback: Callable[["Future[T]"], None]) -> None:
        """Run ``callback(self)`` when the future completes (now, if it has).  Its return value is
        ignored and an error it raises is reported as a warning, as in PyTorch."""
        if not callable(callback):
            raise TypeError(f"add_done_callback() needs a callable, but got {type(callback).__name__}")
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        self._run_callback(callback)

    def __repr__(self) -> str:
        state = "pending" if not self._event.is_set() else "failed" if self._exception else "done"
        return f"<edunn.futures.Future {state}>"


def collect_all(futures: list) -> Future:
    """One future, completed with the list ``futures`` once every one of them has completed
    (whether with a value or an error: inspect each with ``wait()``)."""
    futures = list(futures)
    for f in futures:
        if not isinstance(f, Future):
            raise TypeError(f"collect_all expects a list of edunn.futures.Future, but got "
                            f"{type(f).__name__}")
    out: Future = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out.set_result(futures)

    def drive() -> None:
        for f in futures:
            try:
                f.wait()
            except Exception:
                pass
    if not futures:
        out.set_result(futures)
        return out
    out._drive_with(lambda: all(f.done() for f in futures), drive)
    for f in futures:
        f.add_done_callback(one_done)
    return out


def wait_all(futures: list) -> list:
    """Wait for every future and return their values, in order; raise the first error met."""
    return [f.wait() for f in collect_all(futures).wait()]
