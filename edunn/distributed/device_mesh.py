"""``DeviceMesh`` and ``init_device_mesh``: the processes arranged in an n-d grid, one process
group per row of every dimension (lesson 18), as ``torch.distributed.device_mesh``.

2-D parallelism in one picture.  Eight processes as a ``(2, 4)`` mesh named ``("dp", "tp")``::

            tp=0 tp=1 tp=2 tp=3
    dp=0  [   0,   1,   2,   3 ]
    dp=1  [   4,   5,   6,   7 ]

Process 5 belongs to two groups: its *column* ``[1, 5]`` along ``"dp"`` (the replicas it
averages gradients with, as in DDP) and its *row* ``[4, 5, 6, 7]`` along ``"tp"`` (the processes
that share one layer's weights).  ``mesh["dp"]`` is the 1-d mesh ``[1, 5]``, and
``mesh.get_group("dp")`` the process group to pass to ``all_reduce``.

How it is built.  For every dimension, the mesh's lines along it are disjoint lists of ranks;
one ``new_subgroups_by_enumeration`` per dimension creates them all (every process takes part in
every creation, as ``new_group`` requires) and keeps the one this process is in.  A line that is
the whole world reuses the default group.  Slicing (``mesh["dp"]``) makes no new groups: the
sub-mesh keeps its parent's groups for the dimensions it keeps.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from ._group import GroupMember, default_group, get_process_group_ranks, resolve
from ._init import new_subgroups_by_enumeration

np = backend.xp_for(backend.device("cpu"))

__all__ = ["DeviceMesh", "init_device_mesh"]


def _as_array(mesh: Any) -> Any:
    if isinstance(mesh, Tensor):
        mesh = backend.to_numpy(mesh._data)
    a = np.asarray(mesh)
    if a.dtype.kind not in "iu":
        raise ValueError(f"DeviceMesh: mesh must hold integer ranks, but got dtype {a.dtype}")
    return a.astype(np.int32)


class DeviceMesh:
    """An n-d array of global ranks (``mesh``) with one process group per dimension.

    ``device_type`` is ``"cpu"`` or ``"cuda"`` (the collectives use the default group's
    backend); ``mesh_dim_names`` names the dimensions so that ``mesh["dp"]`` and
    ``get_group("dp")`` work.  Every process of the world must construct the mesh (it creates
    process groups); a process outside ``mesh`` gets ``get_coordinate() is None``.
    ``backend_override`` (per-dimension backend options) is accepted for PyTorch's signature:
    edunn's groups share the default group's backend."""

    def __init__(self, device_type: str, mesh: Any = None, *, mesh_dim_names: tuple | None = None,
                 backend_override: tuple | None = None, _init_backend: bool = True,
                 _groups: list | None = None) -> None:
        if device_type not in ("cpu", "cuda"):
            raise ValueError(f"DeviceMesh: device_type must be 'cpu' or 'cuda', but got {device_type!r}")
        if mesh is None:
            raise ValueError("DeviceMesh: mesh (an array of ranks) must be given")
        self._device_type = device_type
        self._mesh = _as_array(mesh)
        world = default_group()
        if self._mesh.size != len(set(self._mesh.reshape(-1).tolist())):
            raise RuntimeError(f"DeviceMesh cannot have duplicate values, but found {self._mesh.tolist()}")
        if self._mesh.size and (self._mesh.min() < 0 or self._mesh.max() >= world.size()):
            raise RuntimeError(f"Mesh should not be bigger than default world size {world.size()}, but "
                               f"found {self._mesh.size} ranks!")
        if mesh_dim_names is not None:
            mesh_dim_names = tuple(mesh_dim_names)
            if len(mesh_dim_names) != self._mesh.ndim:
                raise RuntimeError(f"mesh_dim_names should have one name per mesh dimension: found "
                                   f"len(mesh_dim_names): {len(mesh_dim_names)} and mesh.ndim: "
                                   f"{self._mesh.ndim}.")
            if len(set(mesh_dim_names)) != len(mesh_dim_names):
                raise RuntimeError(f"Each mesh_dim_name must be unique. Found repeated mesh_dim_name in "
                                   f"mesh_dim_names {mesh_dim_names}")
        self._mesh_dim_names = mesh_dim_names
        self._rank = world.rank()
        where = np.argwhere(self._mesh == self._rank)
        self._coordinate = tuple(int(v) for v in where[0]) if len(where) else None
        if _groups is not None:
            self._groups = list(_groups)
        elif _init_backend:
            self._groups = [self._make_group(d, world) for d in range(self._mesh.ndim)]
        else:
            self._groups = [None] * self._mesh.ndim

    def _make_group(self, dim: int, world: Any) -> Any:
        """The process group of this rank's line along ``dim`` (every rank creates every line)."""
        lines = np.moveaxis(self._mesh, dim, -1).reshape(-1, self._mesh.shape[dim]).tolist()
        if len(lines) == 1 and sorted(lines[0]) == list(range(world.size())) \
                and lines[0] == sorted(lines[0]):
            return GroupMember.WORLD
        mine, _ = new_subgroups_by_enumeration(lines)
        return mine if mine is not None else GroupMember.NON_GROUP_MEMBER

    # -- shape ---------------------------------------------------------------------------------
    @property
    def device_type(self) -> str:
        return self._device_type

    @property
    def mesh(self) -> Tensor:
        """The ranks, as an int32 tensor of the mesh's shape."""
        return Tensor._make(self._mesh.copy())

    @property
    def mesh_dim_names(self) -> tuple | None:
        return self._mesh_dim_names

    @property
    def ndim(self) -> int:
        return self._mesh.ndim

    @property
    def shape(self) -> tuple:
        return tuple(self._mesh.shape)

    def size(self, mesh_dim: int | None = None) -> int:
        """How many processes the mesh holds, or its length along ``mesh_dim``."""
        return int(self._mesh.size) if mesh_dim is None else int(self._mesh.shape[mesh_dim])

    # -- this process ----------------------------------------------------------------------------
    def get_rank(self) -> int:
        """This process's global rank."""
        return self._rank

    def get_coordinate(self) -> tuple | None:
        """This process's index in the mesh (``None`` when it is not in it)."""
        return self._coordinate

    def _dim(self, mesh_dim: Any) -> int:
        if mesh_dim is None:
            if self.ndim > 1:
                raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions. Optional kwarg "
                                   "`mesh_dim` needs to be specified when device_mesh.ndim > 1. If you "
                                   "want the ProcessGroups of every dimension, use `get_all_groups()`.")
            return 0
        if isinstance(mesh_dim, str):
            if not self._mesh_dim_names or mesh_dim not in self._mesh_dim_names:
                raise KeyError(f"Mesh dimension '{mesh_dim}' does not exist. Available mesh dimensions "
                               f"are: mesh_dim_names={self._mesh_dim_names}")
            return self._mesh_dim_names.index(mesh_dim)
        if not isinstance(mesh_dim, int) or not -self.ndim <= mesh_dim < self.ndim:
            raise IndexError(f"mesh_dim must be an int in [{-self.ndim}, {self.ndim}) or a dimension "
                             f"name, but got {mesh_dim!r}")
        return mesh_dim % self.ndim

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        """This process's rank inside its group along ``mesh_dim`` (its coordinate there)."""
        dim = self._dim(mesh_dim)
        if self._coordinate is None:
            return -1
        return self._coordinate[dim]

    def get_group(self, mesh_dim: int | str | None = None) -> Any:
        """The process group of this process's line along ``mesh_dim`` (name or index; may be
        omitted on a 1-d mesh)."""
        group = self._groups[self._dim(mesh_dim)]
        if group is None:
            raise RuntimeError("this DeviceMesh was made with _init_backend=False: it has no groups")
        return group

    def get_all_groups(self) -> list:
        """The process groups of every dimension, in order."""
        return [self.get_group(d) for d in range(self.ndim)]

    # -- slicing ---------------------------------------------------------------------------------
    def __getitem__(self, mesh_dim_names: str | tuple) -> "DeviceMesh":
        """The sub-mesh of the named dimensions through this process (``mesh["dp"]``, or
        ``mesh["dp", "tp"]`` in any order); it reuses this mesh's groups."""
        if not self._mesh_dim_names:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else tuple(mesh_dim_names)
        if not names or any(n not in self._mesh_dim_names for n in names) or len(set(names)) != len(names):
            raise KeyError(f"Invalid mesh_dim_names {names} specified. Valid mesh_dim_names are "
                           f"{list(self._mesh_dim_names)}.")
        if names == self._mesh_dim_names:
            return self
        if self._coordinate is None:
            raise RuntimeError(f"rank {self._rank} is not part of the DeviceMesh {self._mesh.tolist()}: "
                               "it has no sub-mesh")
        dims = [self._mesh_dim_names.index(n) for n in names]
        index = tuple(slice(None) if d in dims else c for d, c in enumerate(self._coordinate))
        kept = [d for d in range(self.ndim) if d in dims]           # the order indexing keeps
        sub = np.transpose(self._mesh[index], [kept.index(d) for d in dims])
        return DeviceMesh(self._device_type, sub, mesh_dim_names=names,
                          _groups=[self._groups[d] for d in dims])

    @staticmethod
    def from_group(group: Any, device_type: str, mesh: Any = None, *,
                   mesh_dim_names: tuple | None = None) -> "DeviceMesh":
        """A mesh over existing groups: one group gives a 1-d mesh of its ranks; a list of groups
        (one per dimension) needs ``mesh``."""
        if not isinstance(group, (list, tuple)):
            ranks = get_process_group_ranks(group)
            if mesh is not None and _as_array(mesh).reshape(-1).tolist() != ranks:
                raise ValueError(f"from_group: mesh {list(_as_array(mesh).reshape(-1))} must be the "
                                 f"group's ranks {ranks}")
            return DeviceMesh(device_type, ranks, mesh_dim_names=mesh_dim_names, _groups=[resolve(group)])
        if mesh is None:
            raise ValueError("Expects the `mesh` argument to be specified when `group` is a list")
        arr = _as_array(mesh)
        if arr.ndim != len(group):
            raise ValueError(f"Expects mesh with ndim equal to number of ProcessGroups but got mesh "
                             f"{arr.tolist()} and {len(group)} ProcessGroups")
        return DeviceMesh(device_type, arr, mesh_dim_names=mesh_dim_names, _groups=list(group))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DeviceMesh) and self._device_type == other._device_type
                and self._mesh.shape == other._mesh.shape and bool((self._mesh == other._mesh).all())
                and self._mesh_dim_names == other._mesh_dim_names)

    def __hash__(self) -> int:
        return hash((self._device_type, self._mesh.shape, tuple(self._mesh.reshape(-1).tolist()),
                     self._mesh_dim_names))

    def __repr__(self) -> str:
        names = f", mesh_dim_names={self._mesh_dim_names}" if self._mesh_dim_names else ""
        return f"DeviceMesh('{self._device_type}', {self._mesh.tolist()}{names})"


def init_device_mesh(device_type: str, mesh_shape: tuple, *, mesh_dim_names: tuple | None = None,
                     backend_override: dict | None = None) -> DeviceMesh:
    """The world's ranks ``0 .. p-1`` laid out row-major in ``mesh_shape`` (whose product must be
    the world size), with one process group per dimension.  Every process must call it."""
    shape = tuple(int(s) for s in mesh_shape)
    if mesh_dim_names is not None:
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError(f"Each mesh_dim_name must be unique. Found repeated mesh_dim_name in "
                               f"mesh_dim_names {tuple(mesh_dim_names)}")
        if len(mesh_dim_names) != len(shape):
            raise RuntimeError(f"mesh_shape and mesh_dim_names should have same length! Found "
                               f"len(mesh_dim_names): {len(mesh_dim_names)} and len(mesh_shape):{len(shape)}.")
    world = default_group().size()
    count = int(np.prod(shape)) if shape else 1
    if count > world:
        raise RuntimeError(f"Mesh should not be bigger than default world size {world}, but found "
                           f"{count} ranks!")
    if count != world:
        raise RuntimeError(f"init_device_mesh: mesh_shape {shape} holds {count} ranks, but the world has "
                           f"{world}; the product of mesh_shape must be the world size")
    mesh = np.arange(count, dtype=np.int32).reshape(shape)
    return DeviceMesh(device_type, mesh, mesh_dim_names=mesh_dim_names, backend_override=backend_override)
