"""Configuration and small utilities of ``torch.distributed`` (lesson 18): debug levels,
backend configuration and availability, the options records, ``group.WORLD``, the deprecated
``reduce_op``, ``get_node_local_rank``, ``get_pg_count`` and the rank-gated ``breakpoint``.

Debug level.  PyTorch reads ``TORCH_DISTRIBUTED_DEBUG`` (``OFF``, ``INFO`` or ``DETAIL``) at
import; at ``DETAIL`` it checks, before each collective, that every rank passes the same shapes.
edunn makes that check always (see ``_collectives.py``; ``EDUNN_DISTRIBUTED_CHECKS=0`` turns it
off), so the level here is a record that code and tools can read and set, as in PyTorch.

Options records.  ``AllreduceOptions``, ``BroadcastOptions`` ... are how PyTorch's Python layer
passes arguments to a C++ ``ProcessGroup`` (``opts.reduceOp = op; group.allreduce([t], opts)``).
edunn's collectives take keyword arguments instead; the records exist, with PyTorch's fields and
defaults (a negative ``timeout`` means "the group's"), for code that builds them.
"""
from __future__ import annotations

import datetime
import enum
import os
import pdb
import sys
import warnings
from typing import Any, NewType

from .. import backend
from ._group import Backend, GroupMember, ReduceOp, _state, resolve

# ------------------------------------------------------------------------------ debug level


class DebugLevel(enum.IntEnum):
    """How much ``torch.distributed`` checks and logs: ``OFF``, ``INFO``, ``DETAIL``."""
    OFF = 0
    INFO = 1
    DETAIL = 2


_debug_level = [DebugLevel.OFF]


def get_debug_level() -> DebugLevel:
    """The current :class:`DebugLevel` (``OFF`` unless set or read from the environment)."""
    return _debug_level[0]


def set_debug_level(level: DebugLevel) -> None:
    """Set the :class:`DebugLevel`."""
    if not isinstance(level, DebugLevel):
        raise TypeError(f"set_debug_level(): incompatible function arguments: expected a "
                        f"torch.distributed.DebugLevel, but got {level!r}")
    _debug_level[0] = level


def set_debug_level_from_env() -> None:
    """Set the level from ``TORCH_DISTRIBUTED_DEBUG`` (``OFF`` when unset)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError("The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL.")
    _debug_level[0] = DebugLevel[value]


set_debug_level_from_env()    # as PyTorch does when torch.distributed is imported

# ------------------------------------------------------------------------------ backends


class BackendConfig:
    """Which backend serves which device type: ``BackendConfig("mpi")`` maps ``cpu`` and
    ``cuda`` to ``mpi`` (CUDA tensors go through the host), ``"nccl"`` maps ``cuda``;
    ``"cpu:mpi,cuda:nccl"`` names each device's; ``"undefined"`` picks the accelerator's
    default (NCCL with a GPU, else MPI).  ``str()`` gives the ``device:backend,...`` form."""

    def __init__(self, backend: Backend) -> None:
        self.device_backend_map: dict = {}
        text = str(backend)
        if text.lower() == Backend.UNDEFINED:
            dev = "cuda" if _cuda() else "cpu"
            self.device_backend_map[dev] = Backend(Backend.default_device_backend_map[dev])
        elif ":" in text:
            for pair in text.lower().split(","):
                parts = pair.split(":")
                if len(parts) != 2 or not parts[0] or not parts[1]:
                    raise ValueError(f"The custom backend string argument is invalid: {text}. The "
                                     "format is '<device_type1>:<backend1>,<device_type2>:<backend2>', "
                                     "e.g. 'cpu:mpi,cuda:nccl'")
                self.device_backend_map[parts[0].strip()] = Backend(parts[1].strip())
        else:
            name = Backend(text)
            self.device_backend_map = dict.fromkeys(Backend.backend_capability[name], name)

    def get_device_backend_map(self) -> dict:
        """``{device_type: backend}``."""
        return dict(self.device_backend_map)

    def __repr__(self) -> str:
        return ",".join(f"{dev}:{name}" for dev, name in self.device_backend_map.items())


def _cuda() -> bool:
    return backend.cuda_available()


def get_backend_config(group: Any = None) -> str:
    """The ``device:backend`` configuration of ``group`` (default: the world), e.g.
    ``"cpu:mpi,cuda:mpi"``."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return str(BackendConfig(pg._backend))


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` (``"mpi"``, ``"nccl"``, or a ``"cpu:mpi,cuda:nccl"`` string) can be
    used here; edunn has no ``gloo``, ``ucc`` or ``xccl``."""
    from ._init import is_mpi_available, is_nccl_available
    if not isinstance(backend, str):
        raise TypeError(f"is_backend_available(): backend must be a str, but got {type(backend).__name__}")
    if ":" in backend:
        return all(is_backend_available(str(b))
                   for b in BackendConfig(backend).get_device_backend_map().values())
    checks = {"mpi": is_mpi_available, "nccl": is_nccl_available}
    check = checks.get(backend.lower())
    return bool(check()) if check is not None else False


def get_default_backend_for_device(device: Any) -> str:
    """The backend PyTorch's ``init_process_group`` picks for a device type: ``"nccl"`` for
    ``cuda``, and for ``cpu`` edunn's ``"mpi"`` (PyTorch's is Gloo, which edunn does not have)."""
    dev_type = device.type if isinstance(device, backend.device) else backend.device(device).type
    name = Backend.default_device_backend_map.get(dev_type)
    if name is None:
        raise ValueError(f"Default backend not registered for device : {device}")
    return name


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine, from ``LOCAL_RANK`` (set by ``torchrun``) -- or from
    the MPI launcher's ``MPI_LOCALRANKID``/``OMPI_COMM_WORLD_LOCAL_RANK`` -- else
    ``fallback_rank``; the usual way to choose ``cuda:<local rank>``."""
    for key in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        if key in os.environ:
            return int(os.environ[key])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device context and "
        "want the code to run locally instead.")


def get_pg_count() -> int:
    """How many process groups this process has created (the default one included) since
    ``init_process_group``."""
    return _state.group_count

# ------------------------------------------------------------------------------ names


GroupName = NewType("GroupName", str)


class _WorldMeta(type):
    """``group.WORLD`` reads ``GroupMember.WORLD`` (the default group, or None) at each access."""

    @property
    def WORLD(cls) -> Any:
        return GroupMember.WORLD


class group(metaclass=_WorldMeta):
    """``group.WORLD``: the default process group once initialised (PyTorch's placeholder class)."""


class _reduce_op:
    """Deprecated enum-like holder of ``SUM``, ``PRODUCT``, ``MIN``, ``MAX`` ...: use
    :class:`ReduceOp`.  Every attribute access warns (``FutureWarning``), as in PyTorch."""

    def __init__(self) -> None:
        members = {k: v for k, v in ReduceOp.RedOpType.__members__.items() if k != "UNUSED"}
        for k, v in members.items():
            setattr(self, k, v)
        self.__members__ = members

    def __getattribute__(self, key: str) -> Any:
        warnings.warn("`torch.distributed.reduce_op` is deprecated, please use "
                      "`torch.distributed.ReduceOp` instead", FutureWarning, stacklevel=2)
        return object.__getattribute__(self, key)


reduce_op = _reduce_op()

# ------------------------------------------------------------------------------ options records
_NO_TIMEOUT = datetime.timedelta(milliseconds=-1)     # PyTorch's "use the group's timeout"


class _Options:
    """A record of named fields with defaults (``_fields``), set freely after construction."""

    _fields: dict = {}

    def __init__(self) -> None:
        for name, default in self._fields.items():
            value = default() if callable(default) else default
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}' (its "
                                 f"fields are {', '.join(self._fields)})")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({fields})"


def _options(name: str, doc: str, **fields: Any) -> type:
    base = {"timeout": _NO_TIMEOUT, "asyncOp": True}
    return type(name, (_Options,), {"__doc__": doc, "_fields": {**fields, **base},
                                    "__module__": __name__})


AllreduceOptions = _options("AllreduceOptions", "Options of an all-reduce: ``reduceOp``.",
                            reduceOp=ReduceOp)
AllreduceCoalescedOptions = _options("AllreduceCoalescedOptions",
                                     "Options of a coalesced all-reduce: ``reduceOp``.", reduceOp=ReduceOp)
ReduceOptions = _options("ReduceOptions", "Options of a reduce: ``reduceOp``, ``rootRank``, "
                         "``rootTensor``.", reduceOp=ReduceOp, rootRank=0, rootTensor=0)
BroadcastOptions = _options("BroadcastOptions", "Options of a broadcast: ``rootRank``, "
                            "``rootTensor``.", rootRank=0, rootTensor=0)
GatherOptions = _options("GatherOptions", "Options of a gather: ``rootRank``.", rootRank=0)
ScatterOptions = _options("ScatterOptions", "Options of a scatter: ``rootRank``.", rootRank=0)
ReduceScatterOptions = _options("ReduceScatterOptions", "Options of a reduce-scatter: "
                                "``reduceOp``.", reduceOp=ReduceOp)
AllToAllOptions = _options("AllToAllOptions", "Options of an all-to-all.")
BarrierOptions = _options("BarrierOptions", "Options of a barrier: ``device_ids``, ``device``.",
                          device_ids=list, device=None)

# ------------------------------------------------------------------------------ breakpoint
_breakpoint_cache: dict = {}


class _DistributedPdb(pdb.Pdb):
    """``pdb`` that reads from the terminal: under ``mpiexec`` a rank's ``sys.stdin`` is often
    closed or shared, so each interaction reopens ``/dev/stdin`` (as PyTorch's)."""

    def interaction(self, *args: Any, **kwargs: Any) -> None:
        saved = sys.stdin
        try:
            sys.stdin = open("/dev/stdin")
            pdb.Pdb.interaction(self, *args, **kwargs)
        finally:
            sys.stdin = saved


def _make_distributed_pdb() -> pdb.Pdb:
    return _DistributedPdb()


def breakpoint(rank: int = 0, skip: int = 0, timeout_s: Any = 3600) -> None:
    """Stop in ``pdb`` on rank ``rank`` only; every other rank waits in a ``barrier`` until you
    continue.  ``skip`` ignores the first ``skip`` calls from the same place; ``timeout_s`` (if
    not None) becomes every group's time-out, so that the others do not time out while you
    debug.  (PyTorch counts skips per traceback text; edunn per calling line.)"""
    from ._collectives import barrier
    from ._group import get_rank
    if skip > 0:
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        counter = _breakpoint_cache.get(key, 0) + 1
        _breakpoint_cache[key] = counter
        if counter <= skip:
            warnings.warn(f"Skip the breakpoint, counter={counter}", RuntimeWarning, stacklevel=2)
            return
    if timeout_s is not None:
        for pg in _state.groups:
            pg.timeout = datetime.timedelta(seconds=timeout_s)
    if get_rank() == rank:
        debugger = _make_distributed_pdb()
        debugger.message("\n!!! ATTENTION !!!\n\n"
                         f"Type 'up' to get to the frame that called dist.breakpoint(rank={rank})\n")
        debugger.set_trace()
    barrier()
