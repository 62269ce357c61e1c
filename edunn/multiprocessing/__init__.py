"""``edunn.multiprocessing``: Python's :mod:`multiprocessing`, plus what PyTorch adds to it
(``torch.multiprocessing``; lesson 18).

* Every name of :mod:`multiprocessing` (``Process``, ``Queue``, ``Pool``, ``get_context`` ...)
  is re-exported unchanged.
* ``spawn(fn, args, nprocs)`` starts ``nprocs`` processes running ``fn(i, *args)`` -- ``i`` is
  the process index, the rank a distributed script gives ``init_process_group`` -- and, if one
  fails, stops the others and raises its exception in the parent with the child's traceback
  (:class:`ProcessRaisedException`) or its exit code (:class:`ProcessExitedException`).
* Tensors sent through a queue or as a process argument: PyTorch moves a CPU tensor's storage
  into shared memory when it is sent, so sender and receiver see one array.  edunn shares it
  when it already *is* in shared memory -- after ``tensor.share_memory_()`` (or
  ``module.share_memory()``), or for a tensor over ``from_file(..., shared=True)`` -- and
  otherwise sends the values (a copy), so sending never moves a tensor the sender is using.
  CUDA tensors are sent by value (PyTorch uses CUDA IPC handles).
* Sharing strategies: on Linux PyTorch offers ``'file_descriptor'`` (the default) and
  ``'file_system'``; edunn accepts and reports both, and shares memory through named POSIX
  shared-memory blocks (``/dev/shm``) -- what ``'file_system'`` means -- under either.
"""
import sys
from multiprocessing import (Array, AuthenticationError, Barrier, BoundedSemaphore, BufferTooShort, Condition, Event,
                             JoinableQueue, Lock, Manager, Pipe, Pool, Process, ProcessError, Queue,
                             RLock, RawArray, RawValue, Semaphore, SimpleQueue, TimeoutError, Value,
                             active_children, allow_connection_pickling, cpu_count, current_process,
                             freeze_support, get_all_start_methods, get_context, get_logger,
                             get_start_method, log_to_stderr, parent_process, reducer,
                             set_executable, set_forkserver_preload, set_start_method)  # the standard API, unchanged

from .reductions import init_reductions
from .spawn import (ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException,  # noqa: F401
                    SpawnContext, spawn, start_processes)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "SpawnContext", "ProcessException",
           "ProcessRaisedException", "ProcessExitedException", "Array", "AuthenticationError",
           "Barrier", "BoundedSemaphore", "BufferTooShort", "Condition", "Event", "JoinableQueue",
           "Lock", "Manager", "Pipe", "Pool", "Process", "ProcessError", "Queue", "RLock",
           "RawArray", "RawValue", "Semaphore", "SimpleQueue", "TimeoutError", "Value",
           "active_children", "allow_connection_pickling", "cpu_count", "current_process",
           "freeze_support", "get_all_start_methods", "get_context", "get_logger",
           "get_start_method", "log_to_stderr", "parent_process", "reducer", "set_executable",
           "set_forkserver_preload", "set_start_method"]

if sys.platform == "darwin" or sys.platform == "win32":
    _sharing_strategy = "file_system"
    _all_sharing_strategies = {"file_system"}
else:
    _sharing_strategy = "file_descriptor"
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose how CPU tensors are shared between processes (one of
    :func:`get_all_sharing_strategies`)."""
    global _sharing_strategy
    assert new_strategy in _all_sharing_strategies
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The current strategy for sharing CPU tensors."""
    return _sharing_strategy


def get_all_sharing_strategies() -> set:
    """The strategies this system supports."""
    return _all_sharing_strategies


init_reductions()
