"""What the profilers record while they run, and how: one observer on ``op_hooks`` that times
every op, and the ranges opened by ``record_function``, by module forwards and by the backward
of each recorded node.

PyTorch's profiler hooks its dispatcher (the ``RecordFunction`` callbacks) and Kineto; edunn's
every op goes through ``Function.apply``, so ``edunn.autograd.op_hooks`` gives the same view:

* **ops** are named as PyTorch names them (``aten::mul`` ...): ``_ATEN_NAMES`` maps edunn's
  ``Function`` classes to aten names where an obvious counterpart exists (``MatMul`` is
  ``aten::mm``/``aten::bmm`` by shape, ``Linear`` ``aten::linear``, ``ConvNd``
  ``aten::convolution``); an elementwise op of the ``_Unary``/``_BinaryOp`` families is
  ``aten::`` plus its lower-cased class name; any other op keeps its class name (a user's
  ``Function`` subclass too);
* **CPU time** is ``time.perf_counter_ns`` around the op; total and self times come from nesting;
* **input shapes** (``record_shapes``): a list per argument, ``[]`` for a non-tensor;
* **memory** (``profile_memory``): the bytes of the op's outputs (views allocate nothing); a
  range's memory is that of the ops inside it.  PyTorch also counts temporaries an op allocates
  and frees; NumPy does not tell us about those;
* **FLOPs** (``with_flops``): ``edunn.utils.flop_counter``'s formulas;
* **modules** (``with_modules``): each module's forward is a range ``nn.Module: Linear_0``
  (PyTorch's naming), through the global forward pre/post hooks;
* **backward**: the ops a backward runs pass through ``apply`` and are recorded like forward
  ops; each recorded node's backward is also a range
  ``autograd::engine::evaluate_function: LinearBackward`` (scope 1, PyTorch's
  ``BACKWARD_FUNCTION``), which holds the backward FLOPs of ops whose backward is array code;
* **CUDA time**: when CUDA is profiled and an op touches a CUDA tensor, two CUDA events (CuPy's,
  through ``backend``) are recorded on the current stream around it; the time between them is
  the op's device time (a ``Kernel``), read after the profile stops and the device is
  synchronized, so profiling does not serialize the GPU.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from collections import defaultdict
import time
import traceback
import weakref
from typing import Any, Callable

from .. import backend
from ..autograd import op_hooks
from ._events import DeviceType, EventList, FunctionEvent

_ATEN_NAMES = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "DivRounded": "div", "Neg": "neg",
    "Exp": "exp", "Log": "log", "Pow": "pow", "ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "SigmoidBackward": "sigmoid_backward", "TanhBackward": "tanh_backward", "Sum": "sum",
    "Mean": "mean", "Var": "var", "Prod": "prod", "Norm": "linalg_vector_norm", "NanSum": "nansum",
    "LogSumExp": "logsumexp", "Reshape": "view", "Permute": "permute", "Expand": "expand",
    "BroadcastTo": "expand", "SumTo": "sum_to_size", "Clone": "clone", "Contiguous": "contiguous",
    "Flip": "flip", "Roll": "roll", "Repeat": "repeat", "Diagonal": "diagonal", "Cat": "cat",
    "Unbind": "unbind", "SplitAt": "split", "Index": "index", "IndexPut": "index_put_",
    "Where": "where", "_Where": "where", "Softmax": "_softmax",
    "SoftmaxBackward": "_softmax_backward_data", "LogSoftmaxBackward": "_log_softmax_backward_data",
    "Linear": "linear", "ConvNd": "convolution", "ConvTransposeNd": "convolution",
    "Einsum": "einsum", "Cast": "_to_copy", "ToDevice": "_to_copy", "CopyFrom": "copy_",
    "Clamp": "clamp", "Embedding": "embedding", "EmbeddingBag": "_embedding_bag",
    "CumSum": "cumsum", "CumProd": "cumprod", "Det": "linalg_det", "Inverse": "linalg_inv",
    "Cross": "linalg_cross", "ConstantPad": "constant_pad_nd", "_NLLLoss": "nll_loss_nd",
    "_CrossEntropyLoss": "cross_entropy_loss", "_BinaryCrossEntropy": "binary_cross_entropy",
    "_BCEWithLogits": "binary_cross_entropy_with_logits", "Im2col": "im2col", "Col2im": "col2im",
    "SVD": "linalg_svd", "QR": "linalg_qr", "Cholesky": "linalg_cholesky", "Eigh": "linalg_eigh",
    "Solve": "linalg_solve", "ScatterReduce": "scatter_reduce", "Unfold": "unfold",
    "Tri": "tril", "Gather": "gather", "_Normalize": "native_layer_norm",
}
_name_cache: dict = {}


def op_name(cls: type, args: tuple) -> str:
    """The name PyTorch's profiler shows for a call of ``cls`` (see the module docstring)."""
    if cls.__name__ == "MatMul":
        a, b = args[0], args[1]
        return "aten::bmm" if a.dim() >= 3 and b.dim() >= 3 else "aten::mm"
    if cls.__name__ == "Softmax" and getattr(cls, "log", False):
        return "aten::_log_softmax"
    name = _name_cache.get(cls)
    if name is None:
        families = {base.__name__ for base in cls.__mro__[1:]}
        if cls.__name__ in _ATEN_NAMES:
            name = "aten::" + _ATEN_NAMES[cls.__name__]
        elif families & {"_Unary", "_BinaryOp", "_Pointwise", "_Compare", "_Bitwise"}:
            name = "aten::" + cls.__name__.lower()
        else:
            name = cls.__name__
        _name_cache[cls] = name
    return name


def _shape_of(a: Any) -> list:
    return list(a.shape) if hasattr(a, "_data") else []


def _dtype_of(a: Any) -> str:
    if hasattr(a, "_data"):
        return str(a.dtype).replace("edunn.", "")
    return "Scalar" if isinstance(a, (int, float, bool)) else ("TensorList" if isinstance(a, (list, tuple)) else "")


def _outputs(out: Any) -> list:
    items = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in items if hasattr(o, "_data")]


def _now_us() -> float:
    return time.perf_counter_ns() / 1000.0


def _user_stack() -> list:
    """The caller's frames, innermost first, without edunn's own (``file.py(12): func``)."""
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [f for f in traceback.extract_stack()[:-1] if not os.path.abspath(f.filename).startswith(root)]
    return [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames)]


class _Record:
    """One interval being recorded; turned into a ``FunctionEvent`` when the profile ends."""
    __slots__ = ("name", "start", "end", "thread", "shapes", "dtypes", "mem", "device_mem", "flops",
                 "stack", "scope", "kind", "kernel_us", "sequence_nr")

    def __init__(self, name: str, kind: str, thread: int) -> None:
        self.name, self.kind, self.thread = name, kind, thread
        self.start = _now_us()
        self.end = None
        self.shapes = self.dtypes = self.stack = None
        self.mem = self.device_mem = 0
        self.flops = None
        self.scope = 0
        self.kernel_us = None
        self.sequence_nr = -1


_active: list = []        # recorders now recording (record_function opens a range in each)
_lock = threading.Lock()


class Recorder:
    """Records ops and ranges between ``start()`` and ``stop()``; ``events()`` gives the
    ``EventList``.  ``use_device`` is ``"cuda"`` when CUDA activity is profiled."""

    def __init__(self, record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 use_device: str | None = None, record_cpu: bool = True) -> None:
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops, self.with_modules = with_stack, with_flops, with_modules
        self.use_device = use_device
        self.record_cpu = record_cpu
        self.records: list = []
        self.memory_log: list = []       # (time_us, +bytes / -bytes) for export_memory_timeline
        self.recording = False
        self._handles: list = []
        self._module_ids: dict = {}
        self._module_stack: list = []
        self._seq = 0

    # -------------------------------------------------------------- control
    def start(self) -> None:
        if self.recording:
            return
        self.recording = True
        op_hooks.add_hook(self._observe)
        with _lock:
            _active.append(self)
        if self.with_modules:
            from ..nn.modules import module as _module
            self._handles = [_module.register_module_forward_pre_hook(self._module_enter),
                             _module.register_module_forward_hook(self._module_exit, always_call=True)]

    def stop(self) -> None:
        if not self.recording:
            return
        self.recording = False
        op_hooks.remove_hook(self._observe)
        with _lock:
            if self in _active:
                _active.remove(self)
        for h in self._handles:
            h.remove()
        self._handles = []
        if self.use_device == "cuda" and backend.cuda_available():
            backend.cuda_synchronize()

    def clear(self) -> None:
        self.records, self.memory_log = [], []

    # -------------------------------------------------------------- ranges
    def open_range(self, name: str, kind: str = "user", scope: int = 0) -> _Record:
        rec = _Record(name, kind, threading.get_native_id())
        rec.scope = scope
        if self.with_stack:
            rec.stack = _user_stack()
        self.records.append(rec)
        return rec

    @staticmethod
    def close_range(rec: _Record) -> None:
        rec.end = _now_us()

    def _module_enter(self, module: Any, args: Any) -> None:
        if not self.recording:
            return
        cls = type(module).__name__
        if id(module) not in self._module_ids:   # PyTorch numbers the instances of each class
            n = sum(1 for c, _, _ in self._module_ids.values() if c == cls)
            self._module_ids[id(module)] = (cls, n, module)   # (the module kept: ids stay unique)
        cls, n, _ = self._module_ids[id(module)]
        self._module_stack.append(self.open_range(f"nn.Module: {cls}_{n}", "module"))

    def _module_exit(self, module: Any, args: Any, output: Any) -> None:
        if self._module_stack:
            self.close_range(self._module_stack.pop())

    # -------------------------------------------------------------- the op observer
    def _observe(self, cls: type, args: tuple, kwargs: dict, proceed: Callable) -> Any:
        if not self.record_cpu:
            return proceed()
        rec = _Record(op_name(cls, args), "op", threading.get_native_id())
        cuda = self.use_device == "cuda" and any(
            hasattr(a, "_data") and backend.is_cupy_array(a._data) for a in args)
        if cuda:   # CUDA events around the op's kernels, read once the profile stops
            events = (backend.cupy.cuda.Event(), backend.cupy.cuda.Event())
            events[0].record()
        rec.start = _now_us()
        out = proceed()
        if cuda:
            events[1].record()
            rec.kernel_us = events
        rec.end = _now_us()
        self.records.append(rec)
        if self.record_shapes:
            rec.shapes = [_shape_of(a) for a in args]
            rec.dtypes = [_dtype_of(a) for a in args]
        if self.with_stack:
            rec.stack = _user_stack()
        outs = _outputs(out)
        if self.profile_memory and not cls._is_view:
            for o in outs:
                self._note_allocation(o, rec)
        if self.with_flops:
            from ..utils.flop_counter import op_flops
            counted = op_flops(cls, args, kwargs, out)
            rec.flops = None if counted is None else counted[1]
        node = getattr(outs[0], "grad_fn", None) if outs else None
        if node is not None and type(node) is cls:
            self._seq += 1
            rec.sequence_nr = self._seq
            self._watch_backward(node, cls, args, outs[0], self._seq)
        return out

    def _note_allocation(self, tensor: Any, rec: _Record) -> None:
        data = tensor._data
        nbytes = int(data.nbytes)
        if backend.is_cupy_array(data):
            rec.device_mem += nbytes
        else:
            rec.mem += nbytes
        self.memory_log.append((rec.end, nbytes))
        try:   # the free, when the array goes (NumPy and CuPy arrays take weak references)
            weakref.finalize(data, self._note_free, nbytes)
        except TypeError:
            pass

    def _note_free(self, nbytes: int) -> None:
        if self.recording:
            self.memory_log.append((_now_us(), -nbytes))

    def _watch_backward(self, node: Any, cls: type, args: tuple, out: Any, seq: int) -> None:
        """A range around the node's backward, with the backward FLOPs of array-code backwards."""
        open_recs: list = []
        flops = None
        if self.with_flops:
            from ..utils.flop_counter import backward_flops
            counted = backward_flops(cls, args, out, node.needs_input_grad)
            flops = None if counted is None else counted[1]
        name = "autograd::engine::evaluate_function: " + node.name()

        def pre(grad_outputs):
            if self.recording:
                rec = self.open_range(name, "backward", scope=1)
                rec.flops, rec.sequence_nr = flops, seq
                open_recs.append(rec)
            return None

        def post(grad_inputs, grad_outputs):
            if open_recs:
                self.close_range(open_recs.pop())
            return None
        node.register_prehook(pre)
        node.register_hook(post)

    # -------------------------------------------------------------- results
    @staticmethod
    def _kernel_time(r: _Record) -> float:
        """Microseconds between the op's two CUDA events (computed once, after they complete)."""
        if isinstance(r.kernel_us, tuple):
            start, end = r.kernel_us
            end.synchronize()
            r.kernel_us = backend.cupy.cuda.get_elapsed_time(start, end) * 1000.0
        return r.kernel_us

    def events(self, legacy: bool = False, step_wildcard: bool = False) -> EventList:
        """The records as ``FunctionEvent``s (ranges never closed end now), parents before
        children, with each range's memory the sum of what it contains.  With
        ``step_wildcard`` (``edunn.profiler``), ``ProfilerStep#N`` ranges are named
        ``ProfilerStep*`` so that ``key_averages`` groups them, as PyTorch does; the trace keeps
        the numbered name."""
        now = _now_us()
        base = min((r.start for r in self.records), default=0.0)
        recs = sorted(self.records, key=lambda r: (r.start, -(r.end if r.end is not None else now)))
        evs = []
        for i, r in enumerate(recs):
            end = r.end if r.end is not None else now
            name = "ProfilerStep*" if step_wildcard and r.name.startswith("ProfilerStep#") else r.name
            e = FunctionEvent(
                id=i + 1, name=name, thread=r.thread, start_us=r.start - base, end_us=end - base,
                overload_name="", fwd_thread=r.thread, input_shapes=r.shapes if r.shapes is not None else [],
                stack=r.stack if r.stack is not None else [], scope=r.scope, use_device=self.use_device,
                cpu_memory_usage=r.mem, device_memory_usage=r.device_mem, sequence_nr=r.sequence_nr,
                device_type=DeviceType.CPU, is_legacy=legacy, flops=r.flops, trace_name=r.name,
                is_user_annotation=r.kind == "user", is_python_function=r.kind == "module",
                input_dtypes=r.dtypes)
            e._kind = r.kind
            if r.kernel_us is not None:
                e.append_kernel(r.name, 0, self._kernel_time(r))
            evs.append(e)
        out = EventList(evs, use_device=self.use_device, profile_memory=self.profile_memory,
                        with_flops=self.with_flops)
        out._build_tree()
        for e in reversed(evs):   # children come after their parents: sum ranges bottom-up
            if e._kind != "op" and e.cpu_children:
                e.cpu_memory_usage += sum(c.cpu_memory_usage for c in e.cpu_children)
                e.device_memory_usage += sum(c.device_memory_usage for c in e.cpu_children)
        return out


class record_function(contextlib.ContextDecorator):
    """Label a block of code (``with record_function("name"):`` or ``@record_function("name")``):
    every profiler recording shows it as a range ``name`` around the ops inside, with its own
    CPU time (what ran outside ops) and the ops as children.  Outside a profiler it costs next to
    nothing.  ``args`` is an optional string kept on the object, as in PyTorch."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self.run_callbacks_on_exit = True
        self.record: Any = None

    def __enter__(self) -> "record_function":
        with _lock:
            recorders = list(_active)
        self.record = [(r, r.open_range(self.name)) for r in recorders if r.record_cpu]
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if not self.run_callbacks_on_exit:
            return
        for _, rec in self.record or ():
            Recorder.close_range(rec)
        self.record = None

    def _call_end_callbacks_on_future(self, fut: Any) -> Any:
        """Close the range when ``fut`` (a ``concurrent.futures.Future``-like object with
        ``add_done_callback``) completes, instead of at ``__exit__``; returns ``fut``."""
        if not self.run_callbacks_on_exit:
            raise RuntimeError("_call_end_callbacks_on_future can only be called once.")
        self.run_callbacks_on_exit = False
        recs = self.record or []
        self.record = None
        fut.add_done_callback(lambda _: [Recorder.close_range(r) for _, r in recs])
        return fut


class KinetoStepTracker:
    """Step counts of several requesters (the profiler's ``"ProfilerStep"``, optimizers); the
    global step is the largest.  PyTorch tells Kineto when it grows; edunn has no Kineto, so the
    counts are all there is (``current_step()``)."""

    _current_step = 0
    _step_dict: dict = defaultdict(int)

    @classmethod
    def init_step_count(cls, requester: str) -> None:
        cls._step_dict[requester] = cls._current_step

    @classmethod
    def erase_step_count(cls, requester: str) -> bool:
        return cls._step_dict.pop(requester, None) is not None

    @classmethod
    def increment_step(cls, requester: str) -> int:
        """Add one to ``requester``'s count; returns the global step."""
        if requester not in cls._step_dict:
            cls.init_step_count(requester)
        cls._step_dict[requester] += 1
        new_step = max(cls._step_dict.values())
        if new_step > cls._current_step:
            delta = new_step - cls._current_step
            if delta > 1:
                warnings.warn("Profiler step count has increased more than 1 - "
                              f"current_step = {cls._current_step} step dict =  {cls._step_dict}",
                              stacklevel=2)
            cls._current_step = new_step
        return cls._current_step

    @classmethod
    def current_step(cls) -> int:
        return cls._current_step
