"""``edunn.cuda.graphs`` (``torch.cuda.graphs``): CUDA graphs -- record a sequence of kernels
once, replay it with one launch.

Launching many small kernels costs CPU time per launch; a CUDA graph captures the launches made
on a stream (``capture_begin`` ... ``capture_end``) and replays them all with ``replay()``, on
the same memory addresses -- so the inputs must be copied into the captured tensors before each
replay.  edunn captures through CuPy's stream capture (``cupy.cuda.Stream.begin_capture`` /
``end_capture``, which returns a ``cupy.cuda.Graph``).

CuPy's memory pool has no per-graph private pools, so ``pool`` arguments are accepted and
returned as handles but all captures share the default pool.  Memory allocated *during* a
capture must come from an allocator that supports stream capture (CuPy's
``MemoryAsyncPool``); allocate the static tensors before capturing, as PyTorch's
documentation recommends anyway.

``make_graphed_callables`` (graph-capture a module's forward *and backward*, then stitch the
replays into autograd) is not available: edunn's autograd runs backward in Python, op by op,
and cannot be replaced by a captured graph; it raises ``NotImplementedError`` saying so.
"""
from __future__ import annotations

import gc
import itertools
from typing import Any

from . import _require

__all__ = ["is_current_stream_capturing", "graph_pool_handle", "CUDAGraph", "graph", "make_graphed_callables"]

_pool_ids = itertools.count(1)


def is_current_stream_capturing() -> bool:
    """True while the current stream is being captured into a graph (False without CUDA)."""
    from .. import backend
    if not backend.cuda_available():
        return False
    return bool(backend.cupy.cuda.get_current_stream().is_capturing())


def graph_pool_handle() -> tuple[int, int]:
    """A fresh memory-pool handle to pass as ``pool=`` (see the module docstring)."""
    _require("graph_pool_handle")
    return (0, next(_pool_ids))


class CUDAGraph:
    """One captured CUDA graph.  ``keep_graph``: keep the un-instantiated graph after
    ``capture_end`` (CuPy always keeps it)."""

    def __init__(self, keep_graph: bool = False) -> None:
        _require("CUDAGraph")
        self.keep_graph = keep_graph
        self._graph: Any = None
        self._capture_stream: Any = None
        self._pool: tuple[int, int] | None = None
        self._debug = False

    def capture_begin(self, pool: tuple[int, int] | None = None, capture_error_mode: str = "global",
                      check_input_liveness: bool = False) -> None:
        """Start capturing the current stream (which must not be the default stream).
        ``check_input_liveness`` (PyTorch's debugging check that captured inputs stay alive) is
        accepted; CuPy keeps no record of a capture's inputs to check."""
        cupy = _require("CUDAGraph.capture_begin")
        runtime = cupy.cuda.runtime
        modes = {"global": runtime.streamCaptureModeGlobal, "thread_local": runtime.streamCaptureModeThreadLocal,
                 "relaxed": runtime.streamCaptureModeRelaxed}
        if capture_error_mode not in modes:
            raise RuntimeError(f"Unknown capture_error_mode {capture_error_mode!r}: expected one of {list(modes)}")
        stream = cupy.cuda.get_current_stream()
        if stream.ptr == 0:
            raise RuntimeError("CUDA graphs must be captured on a non-default stream. (However, after capture, "
                               "it's ok to replay them on the default stream.)")
        self._pool = graph_pool_handle() if pool is None else pool
        self._capture_stream = stream
        stream.begin_capture(modes[capture_error_mode])

    def capture_end(self) -> None:
        """Stop capturing; the graph is ready to :meth:`replay`."""
        if self._capture_stream is None:
            raise RuntimeError("capture_end() called without a matching capture_begin()")
        self._graph = self._capture_stream.end_capture()
        self._capture_stream = None

    def _captured(self) -> Any:
        if self._graph is None:
            raise RuntimeError("This CUDAGraph has not been captured (call capture_begin/capture_end, or use "
                               "edunn.cuda.graph)")
        return self._graph

    def instantiate(self) -> None:
        """Prepare the graph for launching (CuPy instantiates at ``capture_end``; this uploads it)."""
        cupy = _require("CUDAGraph.instantiate")
        self._captured().upload(cupy.cuda.get_current_stream())

    def replay(self) -> None:
        """Launch the captured work again, on the current stream."""
        cupy = _require("CUDAGraph.replay")
        self._captured().launch(cupy.cuda.get_current_stream())

    def reset(self) -> None:
        """Forget the captured graph."""
        self._graph = None

    def pool(self) -> tuple[int, int]:
        """The memory-pool handle of this graph's capture (to share with another capture)."""
        if self._pool is None:
            raise RuntimeError("pool() needs a graph that has been captured")
        return self._pool

    def enable_debug_mode(self) -> None:
        """Keep what :meth:`debug_dump` needs."""
        self._debug = True

    def debug_dump(self, debug_path: str) -> None:
        """Write the graph in Graphviz dot format to ``debug_path``."""
        if not self._debug:
            raise RuntimeError("debug_dump() needs enable_debug_mode() before the capture")
        with open(debug_path, "w") as f:
            f.write(self._captured().debug_dot_str())

    def get_graph_data(self) -> dict:
        """PyTorch: the graph's nodes and their dependencies (for reading profiler traces), through
        NVIDIA's ``cuda.bindings``.  CuPy exposes only the Graphviz dump (:meth:`debug_dump`), so
        edunn cannot list the nodes: raises ``NotImplementedError`` (after PyTorch's own check)."""
        if not self.keep_graph:
            raise RuntimeError("get_graph_data() requires keep_graph=True")
        raise NotImplementedError("edunn.cuda.CUDAGraph.get_graph_data is not available: CuPy does not expose a "
                                  "captured graph's nodes; use enable_debug_mode() and debug_dump(path) for a dot "
                                  "description of the graph")

    def raw_cuda_graph(self) -> int:
        """The ``cudaGraph_t`` pointer."""
        return int(self._captured().graph)

    def raw_cuda_graph_exec(self) -> int:
        """The ``cudaGraphExec_t`` pointer."""
        return int(self._captured().graphExec)


class graph:
    """``with edunn.cuda.graph(g): y = f(x)`` -- capture the block's GPU work into ``g`` on a
    side stream (``stream``, or one shared by all captures), after synchronising and emptying
    the cache as PyTorch does."""

    default_capture_stream: Any = None

    def __init__(self, cuda_graph: CUDAGraph, pool: tuple[int, int] | None = None, stream: Any = None,
                 capture_error_mode: str = "global", enable_annotations: bool = False,
                 check_input_liveness: bool = False) -> None:
        from .streams import Stream
        _require("graph")
        if self.__class__.default_capture_stream is None:
            self.__class__.default_capture_stream = Stream()
        self.pool = () if pool is None else (pool,)
        self.capture_stream = stream if stream is not None else self.__class__.default_capture_stream
        self.cuda_graph = cuda_graph
        self.capture_error_mode = capture_error_mode
        self.enable_annotations = enable_annotations
        self.check_input_liveness = check_input_liveness

    def __enter__(self) -> None:
        from . import empty_cache, synchronize
        from .streams import stream
        synchronize()
        gc.collect()
        empty_cache()
        self.stream_ctx = stream(self.capture_stream)
        self.stream_ctx.__enter__()
        self.cuda_graph.capture_begin(*self.pool, capture_error_mode=self.capture_error_mode,
                                      check_input_liveness=self.check_input_liveness)

    def __exit__(self, *args: Any) -> None:
        self.cuda_graph.capture_end()
        self.stream_ctx.__exit__(*args)


def make_graphed_callables(callables: Any, sample_args: Any, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool: tuple[int, int] | None = None) -> Any:
    """PyTorch: capture each callable's forward and backward into CUDA graphs and return
    versions that replay them.  Not available in edunn (see the module docstring)."""
    raise NotImplementedError("edunn.cuda.make_graphed_callables is not available: edunn's backward pass runs in "
                              "Python op by op and cannot be replayed from a captured CUDA graph. Capture the "
                              "forward (inference) with edunn.cuda.graph / CUDAGraph instead.")
