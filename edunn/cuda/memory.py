"""``edunn.cuda.memory`` (``torch.cuda.memory``): GPU memory as the caching allocator sees it.

PyTorch does not give freed GPU memory back to the driver: its *caching allocator* keeps it for
the next tensor.  CuPy's memory pool (``cupy.get_default_memory_pool()``) does the same, and
edunn's CUDA arrays come from it, so PyTorch's words map onto CuPy's numbers:

* allocated ("memory_allocated") = bytes held by live arrays = the pool's ``used_bytes()``;
* reserved ("memory_reserved", formerly "cached") = bytes the pool holds from the driver, in
  use or not = ``total_bytes()``; ``empty_cache()`` frees the unused part;
* the peaks (``max_memory_allocated`` ...) and the allocation counts come from a CuPy memory
  hook that edunn installs when this module first looks at a device: it sees every
  ``malloc``/``free`` of the pool made *by the thread that installed it* (CuPy's hooks are
  per-thread; edunn's GPU work normally runs on the main thread).  Peaks count from that
  moment, or from the last ``reset_peak_memory_stats()``.

``set_per_process_memory_fraction`` is the pool's ``set_limit(fraction=...)``: an allocation
beyond it raises CuPy's ``OutOfMemoryError``, as PyTorch's does.
"""
from __future__ import annotations

import collections
from typing import Any

from .. import backend
from . import _index, _require, current_device

__all__ = ["memory_allocated", "memory_reserved", "empty_cache", "memory_stats", "memory_stats_as_nested_dict",
           "memory_summary", "memory_snapshot", "max_memory_allocated", "max_memory_reserved",
           "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "reset_accumulated_memory_stats", "memory_cached", "max_memory_cached",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction"]

_COUNTERS = ("allocated_bytes", "reserved_bytes", "allocation", "segment")
_tracker: dict[str, Any] = {"hook": None, "stats": {}}


def _device_stats(index: int) -> dict:
    """The hook's counters for one device: per counter, current / peak / allocated / freed."""
    stats = _tracker["stats"]
    if index not in stats:
        stats[index] = {name: {"current": 0, "peak": 0, "allocated": 0, "freed": 0} for name in _COUNTERS}
    return stats[index]


def _ensure_hook(what: str) -> int:
    """Require CUDA, install the counting hook once, and return the device index to report on."""
    cupy = _require(what)
    if _tracker["hook"] is None:
        pool = cupy.get_default_memory_pool()

        class _CountingHook(cupy.cuda.MemoryHook):
            """Counts the pool's hand-outs (malloc) and its requests to the driver (alloc)."""
            name = "EdunnMemoryStats"

            def alloc_postprocess(self, device_id: int, mem_size: int, mem_ptr: int, **kwargs: Any) -> None:
                if mem_ptr:
                    stats = _device_stats(device_id)
                    _bump(stats["reserved_bytes"], mem_size)
                    _bump(stats["segment"], 1)

            def malloc_postprocess(self, device_id: int, size: int, mem_size: int, mem_ptr: int, pmem_id: int,
                                   **kwargs: Any) -> None:
                if mem_ptr:
                    stats = _device_stats(device_id)
                    _bump(stats["allocated_bytes"], mem_size)
                    _bump(stats["allocation"], 1)

            def free_postprocess(self, device_id: int, mem_size: int, mem_ptr: int, pmem_id: int,
                                 **kwargs: Any) -> None:
                stats = _device_stats(device_id)
                _drop(stats["allocated_bytes"], mem_size)
                _drop(stats["allocation"], 1)

        hook = _CountingHook()
        hook.__enter__()   # stays installed for the life of the process (this thread)
        _tracker["hook"] = hook
        with cupy.cuda.Device(current_device()):
            stats = _device_stats(current_device())
            stats["allocated_bytes"]["current"] = stats["allocated_bytes"]["peak"] = int(pool.used_bytes())
            stats["reserved_bytes"]["current"] = stats["reserved_bytes"]["peak"] = int(pool.total_bytes())
    return current_device()


def _bump(counter: dict, amount: int) -> None:
    counter["current"] += amount
    counter["allocated"] += amount
    counter["peak"] = max(counter["peak"], counter["current"])


def _drop(counter: dict, amount: int) -> None:
    counter["current"] -= amount
    counter["freed"] += amount


def _target(device: Any, what: str) -> int:
    index = _ensure_hook(what)
    chosen = _index(device)
    return index if chosen is None else chosen


def memory_allocated(device: Any = None) -> int:
    """Bytes occupied by tensors on ``device`` (CuPy's memory pool, ``used_bytes``)."""
    return backend.cuda_memory_allocated(_index(device))


def memory_reserved(device: Any = None) -> int:
    """Bytes held by the caching allocator on ``device``, in use or cached (``total_bytes``)."""
    return backend.cuda_memory_reserved(_index(device))


def memory_cached(device: Any = None) -> int:
    """Deprecated name of :func:`memory_reserved`."""
    _require("memory_cached")
    return memory_reserved(device)


def empty_cache() -> None:
    """Give cached, unused GPU memory back to the driver (nothing without a GPU)."""
    if backend.cuda_available():
        backend.cuda_empty_cache()


def memory_stats(device: Any = None) -> dict[str, Any]:
    """PyTorch's flat statistics dict, sorted by key: ``"allocated_bytes.all.current"``,
    ``"allocated_bytes.all.peak"``, ``"reserved_bytes.all.allocated"``, ``"allocation.all.freed"``,
    ... (the ``"all"`` pool only: CuPy does not split small and large blocks), plus
    ``"num_alloc_retries"`` and ``"num_ooms"`` (0: CuPy does not count them)."""
    return _memory_stats(device, "memory_stats")


def _memory_stats(device: Any, what: str) -> dict[str, Any]:
    """:func:`memory_stats`, with ``what`` (the function the user called) named in the error."""
    index = _target(device, what)
    cupy = backend.cupy
    stats = _device_stats(index)
    with cupy.cuda.Device(index):
        pool = cupy.get_default_memory_pool()
        stats["allocated_bytes"]["current"] = int(pool.used_bytes())
        stats["reserved_bytes"]["current"] = int(pool.total_bytes())
    flat = {"num_alloc_retries": 0, "num_ooms": 0}
    for name, counter in stats.items():
        for kind in ("current", "peak", "allocated", "freed"):
            value = max(counter[kind], counter["current"]) if kind == "peak" else counter[kind]
            flat[f"{name}.all.{kind}"] = value
            if name == "allocated_bytes":
                flat[f"active_bytes.all.{kind}"] = value
    return collections.OrderedDict(sorted(flat.items()))


def memory_stats_as_nested_dict(device: Any = None) -> dict[str, Any]:
    """:func:`memory_stats` as nested dicts (``stats["allocated_bytes"]["all"]["peak"]``)."""
    nested: dict = {}
    for key, value in _memory_stats(device, "memory_stats_as_nested_dict").items():
        node = nested
        *path, leaf = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def max_memory_allocated(device: Any = None) -> int:
    """The peak of :func:`memory_allocated` (see the module docstring for since when)."""
    return _memory_stats(device, "max_memory_allocated")["allocated_bytes.all.peak"]


def max_memory_reserved(device: Any = None) -> int:
    """The peak of :func:`memory_reserved`."""
    return _memory_stats(device, "max_memory_reserved")["reserved_bytes.all.peak"]


def max_memory_cached(device: Any = None) -> int:
    """Deprecated name of :func:`max_memory_reserved`."""
    return _memory_stats(device, "max_memory_cached")["reserved_bytes.all.peak"]


def reset_peak_memory_stats(device: Any = None) -> None:
    """Start the peaks again from the current values."""
    _reset_peaks(device, "reset_peak_memory_stats")


def _reset_peaks(device: Any, what: str) -> None:
    index = _target(device, what)
    _memory_stats(index, what)
    for counter in _device_stats(index).values():
        counter["peak"] = counter["current"]


def reset_max_memory_allocated(device: Any = None) -> None:
    """Deprecated: resets every peak, as :func:`reset_peak_memory_stats` (so does PyTorch)."""
    _reset_peaks(device, "reset_max_memory_allocated")


def reset_max_memory_cached(device: Any = None) -> None:
    """Deprecated: resets every peak, as :func:`reset_peak_memory_stats` (so does PyTorch)."""
    _reset_peaks(device, "reset_max_memory_cached")


def reset_accumulated_memory_stats(device: Any = None) -> None:
    """Zero the "allocated" and "freed" running totals."""
    index = _target(device, "reset_accumulated_memory_stats")
    for counter in _device_stats(index).values():
        counter["allocated"] = counter["freed"] = 0


def _format_size(num: int) -> str:
    for unit in ("B  ", "KiB", "MiB", "GiB", "TiB"):
        if abs(num) < 1024 or unit == "TiB":
            return f"{num:6d} {unit}" if unit == "B  " else f"{num:6.0f} {unit}"
        num /= 1024
    return str(num)


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    """A printable table of :func:`memory_stats` in PyTorch's layout (current, peak, total
    allocated, total freed, for each counter).  ``abbreviated`` is accepted; the table already
    has only the "all" rows."""
    index = _target(device, "memory_summary")
    stats = _memory_stats(index, "memory_summary")
    rule, thin = "|" + "=" * 75 + "|", "|" + "-" * 75 + "|"
    lines = [rule, "|                  PyTorch CUDA memory summary, device ID {:<20d}|".format(index),
             thin, "|            CUDA OOMs: {:<13d}        |        cudaMalloc retries: {:<8d}|".format(
                 stats["num_ooms"], stats["num_alloc_retries"]),
             rule, "|        Metric         | Cur Usage  | Peak Usage | Tot Alloc  | Tot Freed  |", thin]
    for name, title, fmt in (("allocated_bytes", "Allocated memory", _format_size),
                             ("active_bytes", "Active memory", _format_size),
                             ("reserved_bytes", "GPU reserved memory", _format_size),
                             ("allocation", "Allocations", lambda n: f"{n:10d}"),
                             ("segment", "GPU reserved segments", lambda n: f"{n:10d}")):
        values = [fmt(stats[f"{name}.all.{kind}"]) for kind in ("current", "peak", "allocated", "freed")]
        lines.append(f"| {title:<22}| " + " | ".join(f"{v:>10}" for v in values) + " |")
        lines.append(thin)
    lines[-1] = rule
    return "\n".join(lines) + "\n"


def memory_snapshot(mempool_id: Any = None, include_traces: bool = True) -> list[dict]:
    """A list of memory segments, one dict each, as PyTorch's.  CuPy does not expose its pool's
    segments, so edunn reports one summary segment per device that the pool holds memory on
    (``device``, ``total_size``, ``allocated_size``, ``active_size``, ``segment_type``,
    ``blocks``: empty)."""
    _ensure_hook("memory_snapshot")
    from . import device_count
    segments = []
    for index in range(device_count()):
        stats = _memory_stats(index, "memory_snapshot")
        if stats["reserved_bytes.all.current"]:
            segments.append({"device": index, "address": 0, "total_size": stats["reserved_bytes.all.current"],
                             "allocated_size": stats["allocated_bytes.all.current"],
                             "active_size": stats["active_bytes.all.current"], "requested_size":
                             stats["allocated_bytes.all.current"], "stream": 0, "segment_type": "large",
                             "segment_pool_id": (0, 0), "is_expandable": False, "frames": [], "blocks": []})
    return segments


def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
    """Cap the allocator at ``fraction`` of the device's memory (CuPy: ``set_limit``)."""
    cupy = _require("set_per_process_memory_fraction")
    index = _index(device)
    index = current_device() if index is None else index
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cupy.cuda.Device(index):
        cupy.get_default_memory_pool().set_limit(fraction=fraction)


def get_per_process_memory_fraction(device: Any = None) -> float:
    """The cap set by :func:`set_per_process_memory_fraction` (1.0 when there is none)."""
    cupy = _require("get_per_process_memory_fraction")
    index = _index(device)
    index = current_device() if index is None else index
    with cupy.cuda.Device(index):
        limit = cupy.get_default_memory_pool().get_limit()
        total = cupy.cuda.runtime.memGetInfo()[1]
    return 1.0 if limit == 0 else limit / total
