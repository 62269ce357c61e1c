"""``Function``: one differentiable op -- a ``forward`` and a ``backward``, nothing else.

Every op in edunn (``Add``, ``Exp``, ``MatMul`` ...) is a subclass, and a learner can write their
own exactly as in PyTorch::

    class Cube(edunn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2

    y = Cube.apply(x)

``apply`` creates one instance per call.  That instance is both the ``ctx`` that ``forward`` and
``backward`` receive and the *node* of the graph: it remembers where each input came from
(``next_functions``) and what was saved for backward.  The output tensors point back at it
through ``grad_fn``.

Two conventions make the built-in ops short and fast:

* ``forward`` may return a raw array (NumPy/CuPy) instead of a tensor; ``apply`` wraps it.
  Built-in ops compute on ``x._data`` directly.
* ``backward`` receives and returns *tensors* and is written with tensor ops.  Normally it runs
  under ``no_grad``; with ``create_graph=True`` it is recorded like any other computation, which
  is what makes double backward and Hessian-vector products work (DeZero's design).

Broadcasting needs nothing here: the engine (``engine.py``) sums each gradient back to its
input's shape, in one place, so ``Add.backward`` is just ``return grad, grad``.
"""
from __future__ import annotations

import traceback
from typing import Any

from . import grad_mode, op_hooks as _op_hooks
from ._inference import mark as _mark_inference
from .. import backend
import edunn.tensor as _tensor_mod  # the module (not the class) -- tensor.py imports this file

_state = grad_mode.state
_multi_gpu = backend.multi_gpu  # [True] once a CUDA device is used on a machine with several


def _same_device_args(args: tuple, kwargs: dict, Tensor: type, exc: Exception) -> tuple | None:
    """After an op failed on arrays of two devices: ``args`` with their zero-dimensional CPU
    tensors moved to the other device (PyTorch lets a 0-d CPU tensor join a CUDA op, like a
    number), or ``RuntimeError`` naming the two devices (keyword arguments count too).  None
    when one device was involved, so the original error stands."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    tensors += [t for a in args if isinstance(a, (list, tuple)) for t in a if isinstance(t, Tensor)]
    in_kwargs = [v for v in kwargs.values() if isinstance(v, Tensor)]
    devices = []
    for t in tensors:
        if t.device not in devices:
            devices.append(t.device)
    for t in in_kwargs:
        if t.device not in devices:
            devices.append(t.device)
    if len(devices) < 2:
        return None
    cuda = [d for d in devices if d.type == "cuda"]
    if len(cuda) == 1 and not in_kwargs and len(tensors) == sum(isinstance(a, Tensor) for a in args) and \
            all(t.device == cuda[0] or t.dim() == 0 for t in tensors):
        return tuple(a.to(cuda[0]) if isinstance(a, Tensor) and a.device != cuda[0] else a for a in args)
    raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                       f"devices, {devices[0]} and {devices[1]}!") from exc
# Outputs of these dtypes carry gradients (float and complex, as in PyTorch); integer and bool
# outputs (indices, masks) never do.
_FLOAT_ARRAY_DTYPES = frozenset(d.np for d in backend.ALL_DTYPES if d.is_floating_point or d.is_complex)

# Saved-tensor hooks (``autograd/graph.py``): a stack of ``(pack_hook, unpack_hook)`` pairs, the
# innermost last.  Empty (the usual case) means saving costs nothing extra.  ``_hooks_disabled``
# holds the error message of ``disable_saved_tensors_hooks`` while hooks are disabled (pushing
# hooks is then refused, so saving never needs to look at it).
_saved_hooks: list = []
_hooks_disabled: list = [None]


class _OutputRef:
    """A saved output of the node itself.  Saving the output tensor object would make a reference
    cycle (output -> grad_fn -> saved output); like PyTorch we keep the array and rebuild a tensor
    pointing at this node when ``saved_tensors`` is read."""

    __slots__ = ("data", "nr", "version", "counter")

    def __init__(self, data, nr: int, version: int, counter: Any = None):
        # ``counter`` is the output's version-counter list (not the tensor: no cycle), so that
        # modifying the output in place before backward is detected, as for saved inputs.
        self.data, self.nr, self.version, self.counter = data, nr, version, counter


class Function:
    """Base class of every differentiable op (``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static
    methods and are called through ``apply``.  ``backward`` returns one gradient per argument of
    ``forward`` (``None`` for arguments that are not tensors or need no gradient).
    """

    # Set on every node by ``apply`` when the op is recorded:
    #   _next:   for each input, None or an edge (target, output_nr, shape, dtype) where target is
    #            the input's grad_fn (a Function) or, for a leaf, the leaf tensor itself;
    #   _n_out:  number of outputs; _saved: what save_for_backward kept, or None once freed.
    _next: tuple = ()
    _n_out = 1
    _saved: Any = ()
    _freed = False
    _has_hooks = False          # any of the four below: the engine checks this one flag
    _pre_hooks: Any = None      # {output_nr: [hook]} from Tensor.register_hook on non-leaves
    _retain: Any = None         # {output_nr: weakref to tensor} from Tensor.retain_grad
    _hooks: Any = None          # Node.register_hook(fn(grad_inputs, grad_outputs))
    _node_pre_hooks: Any = None
    _materialize_grads = True
    _trace: Any = None          # forward stack, recorded when anomaly detection is on
    _is_view = False            # class flag: output shares memory (and version) with input 0
    _saved_arrays = False       # saved entries to revisit once the outputs exist: arrays (perhaps
                                # the output itself) or, under saved-tensor hooks, anything saved
    _pack_hooks: Any = None     # the (pack, unpack) pair active when save_for_backward ran
    _pack_hooks_used = False    # some saved entry went through a pack hook
    _not_recorded = False       # set by apply when no graph is recorded for this call
    # Complex numbers: a built-in op refuses complex tensors unless its own class says it
    # handles them, forward *and* backward (PyTorch's Wirtinger convention), so that an op
    # written for real numbers raises instead of giving wrong numbers.  Set per class: inside
    # edunn a subclass does not inherit True from its base (``Remainder`` is a ``_BinaryOp``
    # like ``Add`` but refuses complex).  Users' own Functions are trusted (True), as in PyTorch.
    supports_complex = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "supports_complex" not in cls.__dict__:
            module = cls.__module__ or ""
            cls.supports_complex = not (module == "edunn" or module.startswith("edunn."))

    # ------------------------------------------------------------------ the two methods to write
    @staticmethod
    def forward(ctx: "Function", *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for a custom autograd.Function.")

    @staticmethod
    def backward(ctx: "Function", *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx: "Function", *grad_inputs: Any) -> Any:
        """Forward-mode AD (``autograd/forward_ad.py``): given one tangent per ``forward`` argument
        (None for non-tensors), return one tangent per output.  A custom Function used on dual
        tensors must define it; the built-in ops have rules in ``autograd/_forward_rules.py``."""
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD.")

    @staticmethod
    def setup_context(ctx: "Function", inputs: tuple, output: Any) -> None:
        """PyTorch's optional new style: ``forward(*args)`` without ctx plus ``setup_context``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ calling an op
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and, when any tensor input requires grad and grad mode is
        on, record the node so that ``backward`` can later be called on it.

        This runs for every op, so it is written for speed: the common case (one array out)
        takes the shortest path."""
        if _multi_gpu[0]:  # several GPUs: run where the inputs live, as PyTorch does
            guard = backend.device_guard(args)
            if guard is not None:
                with guard:
                    return cls.apply(*args, **kwargs)
        if _state.op_hooks:  # a profiler, FlopCounterMode or forward-mode AD is watching
            return _op_hooks.call_hooked(cls, args, kwargs)
        Tensor = _tensor_mod.Tensor
        ctx = _new(cls)
        record = False
        enabled = _state.enabled
        if enabled:
            for a in args:
                if a.__class__ is Tensor or isinstance(a, Tensor):
                    if a.requires_grad or (a._base is not None and a._view_version != a._version_counter[0]
                                           and _refresh_view(a)):
                        record = True
                        break
        if backend.complex_seen and not cls.supports_complex:  # False until a complex number appears
            _refuse_complex(cls, args, kwargs, Tensor)
        if record:  # where each input came from; also answers ctx.needs_input_grad in forward
            ctx._next = _edges(args, Tensor)
        else:
            ctx._next = (None,) * len(args)
            ctx._not_recorded = True  # nothing to save for a backward that will never run
        if enabled:  # forward must not record the ops it may call (a user's forward uses tensor ops)
            _state.enabled = False
        try:
            if cls.setup_context is _BASE_SETUP:
                out = cls.forward(ctx, *args, **kwargs)
            else:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
        except (TypeError, ValueError) as exc:
            # CuPy refuses NumPy arrays (and NumPy CuPy's): only now, off the fast path, look
            # at the devices, so that mixing them says what is wrong, as PyTorch does.
            moved = _same_device_args(args, kwargs, Tensor, exc)
            if moved is None:
                raise
            if enabled:
                _state.enabled = True
                enabled = False
            return cls.apply(*moved, **kwargs)
        finally:
            if enabled:
                _state.enabled = True

        oc = out.__class__
        if oc is not tuple and oc is not list and oc is not Tensor and oc is not _OutputRef \
                and not cls._is_view and not isinstance(out, (tuple, list, Tensor)):
            # the fast path: one raw array out
            if oc is not _ndarray and not backend.is_cupy_array(out):
                scalar, out = out, backend.as_ndarray(out)  # NumPy gives scalars for 0-d results
                if ctx._saved_arrays:  # forward may have saved that scalar as its output
                    ctx._saved = tuple((out, v) if e is scalar else (e, v) for e, v in ctx._saved)
            t = _new(Tensor)
            t._data = out
            t._output_nr = 0
            t._version_counter = [0]
            if not record or out.dtype not in _FLOAT_ARRAY_DTYPES:
                t.requires_grad = False
                t.grad_fn = None
                if _state.inference:  # made under inference_mode: an inference tensor
                    _mark_inference(t)
                return t
            t.requires_grad = True
            t.grad_fn = ctx
            if ctx._saved_arrays:
                ctx._saved = tuple(_mark_outputs(e, (t,)) for e in ctx._saved)
                if ctx._pack_hooks is not None:
                    _pack_saved(ctx, (t,))
            if _state.anomaly:
                ctx._trace = traceback.format_stack()[:-1]
            return t

        single = not isinstance(out, (tuple, list))
        outputs = (_wrap_output(out, args, kwargs, cls, 0),) if single else \
            tuple(_wrap_output(o, args, kwargs, cls, nr) for nr, o in enumerate(out))
        if not record:
            return outputs[0] if single else outputs
        ctx._n_out = len(outputs)
        if len(outputs) > 1:  # to give outputs that receive no gradient zeros in backward
            ctx._out_meta = tuple((o._data.shape, o._data.dtype, backend.device_of(o._data))
                                  if o is not None else None for o in outputs)
        non_diff = ctx.__dict__.get("_non_differentiable", ())
        for nr, o in enumerate(outputs):
            if o is None or id(o) in non_diff or o._data.dtype not in _FLOAT_ARRAY_DTYPES:
                continue  # integer outputs (indices) never carry gradients
            o.requires_grad = True
            o.grad_fn = ctx
            o._output_nr = nr
        if ctx._saved:
            ctx._saved = tuple(_mark_outputs(e, outputs) for e in ctx._saved)
            if ctx._pack_hooks is not None:
                _pack_saved(ctx, outputs)
        if _state.anomaly:
            ctx._trace = traceback.format_stack()[:-1]
        return outputs[0] if single else outputs

    @property
    def needs_input_grad(self) -> tuple:
        """For each argument of ``forward``: does it need a gradient?"""
        return tuple([e is not None for e in self._next])

    # ------------------------------------------------------------------ ctx API (PyTorch's)
    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward``.  Their version is recorded, so modifying one in place
        before ``backward`` makes ``saved_tensors`` raise, as in PyTorch."""
        if self._not_recorded:
            return
        Tensor = _tensor_mod.Tensor
        saved = []
        for t in tensors:
            if t.__class__ is Tensor or isinstance(t, Tensor):
                saved.append((t, t._version_counter[0]))
            else:  # an array (maybe the output itself), a number or None
                saved.append((t, None))
                if t is not None and t.__class__ not in _NUMBERS:
                    self._saved_arrays = True
        self._saved = tuple(saved)
        if _saved_hooks:  # empty unless a saved_tensors_hooks context is active
            _take_hooks(self)

    def _save_factors(self, *factors: Any, first: int = 0) -> None:
        """``save_for_backward(*factors)`` for a product (``a * b``, ``a @ b``, an einsum): the
        gradient of each factor needs all the others and not itself, so a factor is kept only
        when another one's gradient needs it, as PyTorch saves them.  ``x @ W`` with a constant
        ``W`` keeps ``W`` alone, and ``x`` may then change in place before ``backward``.
        ``first``: the position of the first factor among the op's inputs."""
        edges = self._next
        if len(factors) == 2 and not first:   # the usual case, on the hot path
            self.save_for_backward(factors[0] if edges[1] is not None else None,
                                   factors[1] if edges[0] is not None else None)
            return
        needs = [e is not None for e in edges[first:first + len(factors)]]
        n = sum(needs)
        self.save_for_backward(*[f if n > need else None for f, need in zip(factors, needs)])

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep tensors for ``jvp``, where ``ctx.saved_tensors`` returns them (PyTorch's API)."""
        Tensor = _tensor_mod.Tensor
        for t in tensors:
            if not (t is None or isinstance(t, Tensor)):
                raise AssertionError("save_for_forward expects all arguments to be tensors; you should "
                                     "save non-tensors as attributes on ctx.")
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or if "
                "you need to access saved tensors after calling backward.")
        Tensor = _tensor_mod.Tensor
        out = []
        for obj, version in saved:
            if obj.__class__ is _Packed:
                out.append(obj.unpack(self))
            elif obj.__class__ is _OutputRef:
                if obj.counter is not None and obj.counter[0] != obj.version:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified by "
                        f"an inplace operation: output {obj.nr} of {type(self).__name__} is at version "
                        f"{obj.counter[0]}; expected version {obj.version} instead (saved by "
                        f"{self.name()}). Hint: clone the tensor before modifying it in place.")
                out.append(Tensor._make(obj.data, True, self, obj.nr))
            elif isinstance(obj, Tensor):
                if obj._version_counter[0] != version:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified by "
                        f"an inplace operation: [{obj.type()} {list(obj.shape)}] is at version "
                        f"{obj._version_counter[0]}; expected version {version} instead "
                        f"(saved by {self.name()}). Hint: clone the tensor before modifying it in place.")
                out.append(obj)
            elif obj is None or obj.__class__ in _NUMBERS:
                out.append(obj)
            else:  # a raw array saved by a built-in op: a constant for higher-order gradients
                out.append(Tensor._make(obj if hasattr(obj, "__setitem__") else backend.as_ndarray(obj)))
        return tuple(out)

    def mark_non_differentiable(self, *outputs: Any) -> None:
        self.__dict__.setdefault("_non_differentiable", set()).update(id(o) for o in outputs)

    def mark_dirty(self, *tensors: Any) -> None:
        """Accepted for PyTorch compatibility: edunn's in-place ops bump versions themselves."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = bool(value)

    # ------------------------------------------------------------------ the node's public face
    def name(self) -> str:
        """PyTorch's name for this node (``MulBackward0``; ``<Class>Backward`` for a custom
        Function): see ``autograd/_node_names.py``."""
        from ._node_names import node_name
        return node_name(self)

    @property
    def next_functions(self) -> tuple:
        """As PyTorch: ``((input_grad_fn, output_nr), ...)``; leaves appear as ``AccumulateGrad``."""
        out = []
        for edge in self._next:
            if edge is None:
                out.append((None, 0))
            elif isinstance(edge[0], Function):
                out.append((edge[0], edge[1]))
            else:
                out.append((AccumulateGrad(edge[0]), 0))
        return tuple(out)

    @property
    def metadata(self) -> dict:
        """A dict the user may fill, kept with the node (``torch.autograd.graph.Node.metadata``)."""
        md = self.__dict__.get("_metadata")
        if md is None:
            md = self.__dict__["_metadata"] = {}
        return md

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; may return new
        ``grad_inputs``."""
        from ..utils.hooks import RemovableHandle
        if self._hooks is None:
            self._hooks = {}
        self._has_hooks = True
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; may return new grad_outputs."""
        from ..utils.hooks import RemovableHandle
        if self._node_pre_hooks is None:
            self._node_pre_hooks = {}
        self._has_hooks = True
        handle = RemovableHandle(self._node_pre_hooks)
        self._node_pre_hooks[handle.id] = fn
        return handle

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

class AccumulateGrad:
    """What a leaf looks like in ``next_functions`` (PyTorch's name); ``variable`` is the leaf."""

    def __init__(self, variable: Any):
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def metadata(self) -> dict:
        """One dict per leaf, however many times this wrapper is made (PyTorch keeps one node)."""
        d = self.variable.__dict__
        if "_grad_acc_metadata" not in d:
            d["_grad_acc_metadata"] = {}
        return d["_grad_acc_metadata"]

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before the gradient is accumulated: ``grad_outputs`` is the
        one-tuple ``(grad,)``; a returned tuple replaces it (a tensor hook on the leaf)."""
        def hook(grad):
            res = fn((grad,))
            return None if res is None else res[0]
        return self.variable.register_hook(hook)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` once the gradient is accumulated: an
        ``AccumulateGrad`` has no inputs, so ``grad_inputs`` is ``()`` and the result is ignored."""
        from .graph import _MultiHandle
        seen: list = []

        def remember(grad):
            seen.append(grad)

        def post(_leaf):
            while seen:
                fn((), (seen.pop(0),))
        return _MultiHandle((self.variable.register_hook(remember),
                             self.variable.register_post_accumulate_grad_hook(post)))

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


_new = object.__new__
_ndarray = backend.ndarray
_NUMBERS = (int, float, bool)
_BASE_SETUP = Function.setup_context


def _refuse_complex(cls: type, args: tuple, kwargs: dict, Tensor: type) -> None:
    """The complex guard of ``apply``: an op whose class does not declare ``supports_complex``
    raises when a tensor argument (or one inside a list/tuple argument, as for ``cat``) is
    complex, or a Python ``complex`` number is passed.  Runs only once the process has met a
    complex number (``backend.complex_seen``), so real programs never pay for it."""
    for a in (*args, *kwargs.values()):
        if a.__class__ is list or a.__class__ is tuple:
            bad = any(isinstance(t, Tensor) and t._data.dtype.kind == "c" or isinstance(t, complex)
                      for t in a)
        else:
            bad = isinstance(a, Tensor) and a._data.dtype.kind == "c" or isinstance(a, complex)
        if bad:
            # NotImplementedError, as PyTorch's kernels raise for a dtype they lack (a RuntimeError too)
            raise NotImplementedError(f"{_op_name(cls)} does not support complex tensors in edunn")


def _op_name(cls: type) -> str:
    """``ReLU`` -> ``relu``, ``_BinaryOp`` subclass ``Remainder`` -> ``remainder``: the op's
    name as a user knows it (PyTorch names the op in its error messages)."""
    return cls.__name__.strip("_").lower()


def _refresh_view(view: Any) -> bool:
    """``view.requires_grad``, once its ``grad_fn`` is brought up to date (``ops/copy_slices.py``)."""
    from ..ops.copy_slices import refresh_view
    refresh_view(view)
    return view.requires_grad


def _edges(args: tuple, Tensor: type) -> tuple:
    """Where each input came from: ``(grad_fn or the leaf itself, output_nr, shape, dtype)`` for
    inputs that require grad, ``None`` for the others."""
    edges = []
    for a in args:
        if (a.__class__ is Tensor or isinstance(a, Tensor)) and a.requires_grad:
            if a._base is not None and a._view_version != a._version_counter[0]:
                _refresh_view(a)  # its base was written in place since its grad_fn was made
            d = a._data
            edges.append((a.grad_fn or a, a._output_nr, d.shape, d.dtype))
        else:
            edges.append(None)
    return tuple(edges)


def _wrap_output(o: Any, args: tuple, kwargs: dict, cls: type, nr: int) -> Any:
    Tensor = _tensor_mod.Tensor
    if o is None:
        return None
    if isinstance(o, Tensor):
        if o.grad_fn is None and not o.requires_grad and not any(o is a for a in args):
            return o
        t = Tensor._make(o._data)
        t._version_counter = o._version_counter
        return t
    if o.__class__ is not _ndarray and not backend.is_cupy_array(o):
        o = backend.as_ndarray(o)
    t = Tensor._make(o)
    if cls._is_view and o.base is not None and isinstance(args[0], Tensor):
        # a view shares its base's memory and version, and remembers how it was made from the
        # base, so that an in-place op on it can update the base's graph (ops/copy_slices.py)
        src = args[0]
        t._version_counter = src._version_counter
        step = ((cls, args[1:], kwargs, nr),)
        if src._base is None:
            t._base, t._view_chain = src, step
        else:
            t._base, t._view_chain = src._base, src._view_chain + step
        t._view_version = src._version_counter[0]
    return t


class _Packed:
    """A saved entry as a saved-tensor pack hook turned it: the hook's result, the unpack hook
    that turns it back into a tensor when ``saved_tensors`` is read, and where the original sat
    in the graph.  As in PyTorch, the unpacked tensor is put back in that place (same ``grad_fn``
    and output number; for a leaf, an edge into the leaf) when the hook returns a tensor without
    a graph (``x.detach()``, a copy): double backward and nested checkpoints need it.

    In-place ops: ``x.mul_(w)`` runs ``Mul`` on ``x`` (which packs ``x``) and then writes the
    result into ``x``; just before the write, :func:`_repack_before_write` packs a copy of the
    original ``x`` instead, as ``Tensor._keep_original_for`` does without hooks (PyTorch saves
    that copy in the first place).  Otherwise what the hooks keep is their business
    (``allow_mutation_on_saved_tensors`` hands back a copy of a tensor changed in place), but
    when the unpacked tensor still shares the saved input's version counter (``lambda x: x``,
    ``x.detach()``) and that input was changed in place since, its values are no longer the
    saved ones: that is the usual error (where PyTorch, not checking, would use the new values)."""

    __slots__ = ("packed", "unpack_hook", "source", "nr", "counter", "version", "ident", "pack_hook")

    def __init__(self, packed: Any, unpack_hook: Any, source: Any = None, nr: int = 0,
                 counter: Any = None, ident: int = 0, pack_hook: Any = None):
        # source: None (needs no grad), _OUTPUT (an output of the node that saved it), the
        # producing node, or the leaf tensor itself; counter/ident: the saved input's version
        # counter and id(), so that an in-place write into it can be detected
        self.packed, self.unpack_hook, self.source, self.nr = packed, unpack_hook, source, nr
        self.counter, self.version = counter, (counter[0] if counter is not None else 0)
        self.ident, self.pack_hook = ident, pack_hook

    def unpack(self, node: Any = None) -> Any:
        Tensor = _tensor_mod.Tensor
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        if self.counter is not None and t._version_counter is self.counter \
                and self.counter[0] != self.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t.type()} {list(t.shape)}] is at version {self.counter[0]}; "
                f"expected version {self.version} instead (saved by {node.name() if node else 'a node'}"
                "). Hint: clone the tensor before modifying it in place.")
        src = self.source
        if src is None or t.requires_grad:
            return t
        if src is _OUTPUT:
            src = node
        elif isinstance(src, Tensor):  # a leaf: an identity node whose edge leads into it
            alias = _new(_UnpackedLeaf)
            alias._next = ((src, 0, src._data.shape, src._data.dtype),)
            src = alias
        if src is None:
            return t
        return Tensor._make(t._data, True, src, self.nr)


_OUTPUT = object()


class _UnpackedLeaf(Function):
    """Links a tensor unpacked from a saved-tensor hook to the leaf it stands for."""

    @staticmethod
    def backward(ctx, grad):
        return grad


def _take_hooks(ctx: Function) -> None:
    """``save_for_backward`` under saved-tensor hooks: remember the innermost pair, to apply once
    the outputs exist (a saved output is handed to the hook as the output tensor itself)."""
    ctx._pack_hooks = _saved_hooks[-1]
    ctx._saved_arrays = True  # so that apply's fast path looks at the saved entries again


def _pack_saved(ctx: Function, outputs: tuple) -> None:
    """Replace every saved tensor (an input, an output, or an array a built-in op saved) by what
    the pack hook returns.  Numbers and ``None`` are not tensors and stay as they are.  The hook
    runs with the hooks switched off, as in PyTorch, so that the ops it calls save plainly."""
    pack, unpack = ctx._pack_hooks
    ctx._pack_hooks = None
    ctx._pack_hooks_used = True
    Tensor = _tensor_mod.Tensor
    hooks = _saved_hooks[:]
    _saved_hooks.clear()
    try:
        saved = []
        for entry in ctx._saved:
            obj = entry[0]
            if obj is None or obj.__class__ in _NUMBERS:
                saved.append(entry)
                continue
            source, nr, counter = None, 0, None
            if obj.__class__ is _OutputRef:
                t = outputs[obj.nr]
                if t is not None and t.requires_grad:
                    source, nr = _OUTPUT, obj.nr
            elif isinstance(obj, Tensor):
                t, counter = obj, obj._version_counter
                if t.requires_grad:
                    source, nr = (t.grad_fn or t), t._output_nr
            else:
                t = Tensor._make(obj if hasattr(obj, "__setitem__") else backend.as_ndarray(obj))
            saved.append((_Packed(pack(t), unpack, source, nr, counter, id(t), pack), None))
    finally:
        _saved_hooks[:] = hooks
    ctx._saved = tuple(saved)


def _repack_before_write(node: Function, tensor: Any) -> None:
    """``tensor`` is about to be overwritten by an in-place op whose out-of-place ``node`` saved
    it through a pack hook: pack a copy of its current values in its place (the hook is called
    again; the first packed value is dropped), so that backward sees the values from before the
    write -- what ``Tensor._keep_original_for`` does for a plainly saved tensor."""
    Tensor = _tensor_mod.Tensor
    saved = list(node._saved)
    snap = None
    for i, (obj, version) in enumerate(saved):
        if obj.__class__ is not _Packed or obj.ident != id(tensor) or obj.counter is not tensor._version_counter:
            continue
        if snap is None:
            snap = Tensor._make(tensor._data.copy(), tensor.requires_grad, tensor.grad_fn,
                                tensor._output_nr)
        hooks = _saved_hooks[:]
        _saved_hooks.clear()
        try:
            packed = obj.pack_hook(snap)
        finally:
            _saved_hooks[:] = hooks
        saved[i] = (_Packed(packed, obj.unpack_hook, obj.source, obj.nr, snap._version_counter,
                            id(snap), obj.pack_hook), None)
    node._saved = tuple(saved)


def _mark_outputs(entry: tuple, outputs: tuple) -> Any:
    obj, version = entry
    for nr, o in enumerate(outputs):
        if o is not None and (obj is o or obj is o._data):
            return (_OutputRef(o._data, nr, o._version_counter[0], o._version_counter), None)
    return entry


class once_differentiable:
    """Decorator for a ``backward`` that is not itself differentiable (PyTorch's
    ``torch.autograd.function.once_differentiable``): it runs under ``no_grad`` even with
    ``create_graph=True``."""

    def __new__(cls, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(ctx, *args):
            with grad_mode.no_grad():
                return fn(ctx, *args)
        return wrapper


class FunctionCtx(Function):
    """The type of ``ctx`` objects (for type hints: ``ctx: FunctionCtx``)."""
