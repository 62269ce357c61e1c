"""``edunn.save`` and ``edunn.load``: checkpoints in the safetensors format, never pickle.

Why not pickle
--------------
``torch.save`` writes a pickle, and unpickling runs whatever the file tells it to: any object's
``__reduce__`` may name ``os.system`` and a command, and ``pickle.load`` calls it.  A checkpoint
downloaded from anywhere is then a program.  edunn saves only *data* -- tensors, and dicts,
lists and tuples of them with numbers and strings -- so loading can never run code.  A pickle or
a ``torch.save`` file is refused with an error that says how to convert it (DESIGN.md, "Saving
and loading"; lesson 03 saves a ``state_dict``, lesson 19 a whole checkpoint).

The format: safetensors
-----------------------
A safetensors file (https://huggingface.co/docs/safetensors) is::

    8 bytes      N, the header's length: an unsigned 64-bit little-endian integer
    N bytes      the header: UTF-8 JSON, padded with spaces to a multiple of 8 bytes
                   {"__metadata__": {str: str, ...},
                    "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
                    ...}
    the rest     the byte buffer: every tensor's elements in C order, little-endian, one after
                 another; ``data_offsets`` count from the start of this buffer

dtypes are written ``BOOL U8 I8 I16 I32 I64 F16 BF16 F32 F64 C64``.  The buffer is covered
exactly: no gaps, no overlaps, nothing after the last tensor.  safetensors has no complex128
code, so a complex128 tensor of shape ``(...)`` is written as its ``view_as_real``, an ``F64``
tensor of shape ``(..., 2)``, and its entry in edunn's metadata says ``"complex": true``: edunn
reads it back as complex128, and a PyTorch user gets the pairs (``torch.view_as_complex``
turns them back).

A model's ``state_dict`` (a flat dict ``str -> Tensor``) keeps its own keys as tensor names, so
a PyTorch user opens the file with ``safetensors.torch.load_file``.  Anything else is flattened:
each tensor is named by its path (``"state.0.exp_avg"``, ``"model.fc.weight"``) and the
structure around the tensors goes into ``__metadata__["edunn"]`` as JSON::

    {"format": 1,
     "tree": {"dict": [["state", {"dict": [[0, {"dict": [["step", {"tensor": "state.0.step"}],
                                                       ...]}]]}],
                       ["param_groups", {"list": [{"dict": [["lr", 0.1],
                                                            ["betas", {"tuple": [0.9, 0.999]}],
                                                            ...]}]}]]},
     "tensors": {"state.0.step": {"device": "cpu", "requires_grad": false, "parameter": false},
                 ...}}

Every node is a JSON scalar (``null``, ``true``, a number, a string) or an object with one tag:
``dict`` / ``odict`` (a list of ``[key, value]`` pairs, so int keys stay ints and the order
stays), ``list``, ``tuple``, ``size``, ``float`` (``"inf"``, ``"-inf"``, ``"nan"``), ``dtype``,
``device`` and ``tensor`` (a name in the header).  A tensor that appears several times in the
object is stored once and comes back as one object.  A safetensors file without edunn's metadata
(written by ``safetensors.torch.save_file``, say) loads as a dict ``name -> Tensor``.
"""
from __future__ import annotations

import io
import json
import math
import mmap as _mmap
import os
import secrets
import stat
import struct
import zipfile
from collections import OrderedDict
from typing import IO, Any, Callable, Union

from . import backend
from .tensor import Size, Tensor

__all__ = ["save", "load"]

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

FORMAT_VERSION = 1
_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32",
          "int64": "I64", "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64",
          "complex64": "C64"}
_DTYPE_OF_CODE = {code: backend._BY_NAME[name] for name, code in _CODES.items()}
# dtypes that may appear as values in the tree (complex128 tensors are stored as F64 pairs)
_DTYPE_NAMES = set(_CODES) | {"complex128", "complex32"}
_MAX_HEADER = 100_000_000  # safetensors' own limit: a larger header is a damaged length field
_TAGS = ("dict", "odict", "list", "tuple", "size", "float", "dtype", "device", "tensor")
_CONVERT_HINT = (
    "If you trust the file, convert it once with PyTorch and safetensors: "
    "`from safetensors.torch import save_file; save_file(torch.load(path, weights_only=True), "
    "'model.safetensors')` (a state_dict), then edunn.load the .safetensors file.")


# ==============================================================================================
# save
# ==============================================================================================
def save(obj: object, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` (a path or a binary file object) as a safetensors file, as
    ``torch.save`` saves a checkpoint.

    ``obj`` is a tensor, or dicts (``dict``, ``OrderedDict``), lists and tuples of tensors,
    ``None``, ``bool``, ``int``, ``float`` (inf and nan too), ``str``, ``edunn.dtype``,
    ``edunn.device`` and ``edunn.Size`` -- a model's, an optimizer's or a scheduler's
    ``state_dict``, or a checkpoint holding several.  Dict keys may be any of those scalars or
    tuples of them.  Everything comes back as it went in: the same types (a tuple stays a tuple,
    an int key an int), the same order, tensors bit for bit with their dtype, shape, device,
    ``requires_grad`` and whether they were ``Parameter`` s.  A non-contiguous view is stored as
    its elements in order; two views of one storage are stored as two tensors.  One tensor
    object under several keys (tied weights) is stored once, under the first key: edunn.load
    gives it back under every key, a plain safetensors reader sees only the first.  A list or
    dict that appears twice (not a tensor) comes back as two equal copies.

    Anything else (a ``Module``, a function, a set, an object of your own) raises ``TypeError``
    naming where it is inside ``obj`` -- before anything is written.  The format and the reason
    there is no pickle are in this module's docstring.

    To a path the write is atomic: the file is written beside the target under a temporary
    name, flushed to disk (``os.fsync``) and renamed over the target with ``os.replace``, so an
    interrupted save leaves the previous file as it was.  A file object is written in place.

    ``pickle_module``, ``pickle_protocol``, ``_use_new_zipfile_serialization`` and
    ``_disable_byteorder_record`` are accepted so that calls written for ``torch.save`` run;
    they do nothing here (nothing is pickled; safetensors is always little-endian).
    """
    header, tensors = _encode(obj)  # every check first: a bad object writes nothing
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda stream: _write(stream, header, tensors))
        return
    if not hasattr(f, "write"):
        raise TypeError(f"edunn.save: f must be a path (str or os.PathLike) or a binary file "
                        f"object with a write method, got {type(f).__name__}")
    if isinstance(f, io.TextIOBase):
        raise TypeError("edunn.save: f is a text file; open it in binary mode ('wb')")
    _write(f, header, tensors)
    if hasattr(f, "flush"):
        f.flush()


class _Encoder:
    """Walks ``obj`` once: builds the JSON tree, names each distinct tensor, remembers its
    attributes, and refuses anything that is not data."""

    def __init__(self) -> None:
        from .nn import parameter  # imported here: nn sits above this module's layer
        self.param_cls = getattr(parameter, "Parameter", None)
        self.uninit_cls = getattr(parameter, "UninitializedTensorMixin", None)
        self.tensors: list = []             # (name, tensor) in the order they were met
        self.names: dict = {}               # id(tensor) -> name
        self.info: dict = {}                # name -> device, requires_grad, parameter
        self.open: set = set()              # ids of the containers on the current path

    def name_for(self, parts: list) -> str:
        base = ".".join(parts) if parts else "tensor"
        name, n = base, 1
        while name in self.info or name == "__metadata__":
            name, n = f"{base}#{n}", n + 1
        return name

    def tensor(self, t: Tensor, path: str, parts: list) -> dict:
        if id(t) in self.names:
            return {"tensor": self.names[id(t)]}
        if self.uninit_cls is not None and isinstance(t, self.uninit_cls):
            raise TypeError(f"edunn.save: {path} is an uninitialized parameter or buffer (a lazy "
                            "module before its first forward), which has no data to save")
        name = self.name_for(parts)
        self.names[id(t)] = name
        self.tensors.append((name, t))
        is_param = self.param_cls is not None and isinstance(t, self.param_cls)
        self.info[name] = {"device": str(t.device), "requires_grad": bool(t.requires_grad),
                           "parameter": is_param}
        if t.dtype is backend.complex128:  # written as F64 pairs (see the module docstring)
            self.info[name]["complex"] = True
        return {"tensor": name}

    def encode(self, obj: Any, path: str, parts: list, key: bool = False) -> Any:
        if isinstance(obj, Tensor):
            if key:
                raise TypeError(f"edunn.save: a tensor is used as a dict key in {path}; "
                                "keys must be str, int, float, bool, None or tuples of them")
            return self.tensor(obj, path, parts)
        if obj is None or isinstance(obj, (bool, str)) or type(obj) is int:
            return obj
        if isinstance(obj, float):  # a NumPy float64 is a float: stored as one
            if math.isfinite(obj):
                return float(obj)
            return {"float": "nan" if obj != obj else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, backend.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, backend.device):
            return {"device": str(obj)}
        kind = type(obj)
        if kind in (dict, OrderedDict, list, tuple, Size):
            if key and kind in (dict, OrderedDict, list):
                raise TypeError(f"edunn.save: a {kind.__name__} is used as a dict key in {path}")
            if id(obj) in self.open:
                raise TypeError(f"edunn.save: {path} contains itself; a cycle cannot be saved")
            self.open.add(id(obj))
            try:
                if kind is dict or kind is OrderedDict:
                    pairs = []
                    for k, v in obj.items():
                        sub = f"{path}[{k!r}]"
                        pairs.append([self.encode(k, sub, parts, key=True),
                                      self.encode(v, sub, parts + [str(k)])])
                    return {"dict" if kind is dict else "odict": pairs}
                items = [self.encode(v, f"{path}[{i}]", parts + [str(i)], key)
                         for i, v in enumerate(obj)]
                return {list: {"list": items}, tuple: {"tuple": items}, Size: {"size": items}}[kind]
            finally:
                self.open.discard(id(obj))
        hint = " (save its state_dict() instead)" if hasattr(obj, "state_dict") else ""
        raise TypeError(
            f"edunn.save cannot store {path}, of type {kind.__module__}.{kind.__qualname__}"
            f"{hint}: edunn saves tensors and dicts, lists and tuples of them with None, bool, "
            "int, float, str, edunn.dtype and edunn.device -- data only, never pickled objects, "
            "so that loading a file can never run code")


def _encode(obj: Any) -> tuple:
    """The padded header bytes and the tensors in buffer order."""
    enc = _Encoder()
    tree = enc.encode(obj, "obj", [])
    # Widest elements first (safetensors' own order): with an 8-byte aligned header every
    # tensor then starts at a multiple of its element size, which a memory map needs.
    order = sorted(enc.tensors, key=lambda item: -item[1].dtype.itemsize)
    meta = {"format": FORMAT_VERSION, "tree": tree,
            "tensors": {name: enc.info[name] for name, _ in order}}
    meta_text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    header: dict = {"__metadata__": {"format": "pt", "edunn": meta_text}}
    offset = 0
    for name, t in order:
        nbytes = t.numel() * t.dtype.itemsize
        code, shape = _CODES.get(t.dtype.name, "F64"), list(t.shape)
        if t.dtype is backend.complex128:
            shape.append(2)
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw, [t for _, t in order]


def _write(stream: Any, header: bytes, tensors: list) -> None:
    stream.write(struct.pack("<Q", len(header)))
    stream.write(header)
    for t in tensors:
        stream.write(backend.array_to_bytes(t._data))


def _atomic_write(path: str, write: Callable[[Any], None]) -> None:
    """Write through ``write`` into a temporary file beside ``path``, fsync it, then rename it
    over ``path``: a reader, or a crash, sees the old file or the new one, never half of one."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"edunn.save: '{path}' is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # 0o666 less the umask, as open(path, "wb") gives
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if os.path.exists(path):  # overwriting keeps the old file's permissions, as "wb" does
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every system can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ==============================================================================================
# load
# ==============================================================================================
def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Load what :func:`save` wrote (or any safetensors file), as ``torch.load``.

    ``f`` is a path or a binary file object.  ``map_location`` says where tensors go:

    * ``None`` -- back to the device each was saved from (a file saved on ``cuda`` needs CUDA:
      without it this raises, telling you to pass ``map_location``);
    * a device, as ``"cpu"``, ``"cuda:1"`` or ``edunn.device("cpu")`` -- everything there;
    * a dict such as ``{"cuda:0": "cpu"}`` -- saved location -> new location, others unchanged;
    * a callable ``(tensor, location) -> tensor or None``, called with each tensor on the CPU
      and the device string it was saved from; ``None`` means "the default".  (PyTorch passes a
      storage; edunn has no storages, so it passes the tensor.)

    ``mmap=True`` (``f`` must be a path) maps the file into memory copy-on-write instead of
    reading it: CPU tensors share the file's pages, and writing to them never changes the file.

    A file that is not safetensors is refused with an error that says what it is: a pickle or a
    ``torch.save`` archive is never unpickled, because unpickling can run any code.  A damaged
    file (empty, truncated, a bad header, offsets outside the data or overlapping, an unknown
    dtype, a shape that does not match its bytes) raises ``RuntimeError`` naming the file and
    the problem.

    ``weights_only`` is ``True`` whatever is passed: edunn never unpickles, so there is no
    unsafe mode to opt into; ``False`` is accepted and loads the same data.  ``pickle_module``
    and ``pickle_load_args`` (``encoding=`` ...) are accepted for ``torch.load``'s callers and
    unused.
    """
    name, data = _read(f, mmap)
    entries, start, meta = _parse_header(data, name)
    made: dict = {}  # name -> Tensor, so a tensor stored once comes back as one object

    def tensor(tname: str) -> Tensor:
        if tname not in made:
            if tname not in entries:
                raise RuntimeError(f"edunn.load: {name}: the metadata refers to a tensor "
                                   f"'{tname}' that the header does not list")
            made[tname] = _make_tensor(data, start, entries[tname], meta, tname, map_location,
                                       copy=not mmap)
        return made[tname]

    if meta is None:  # a plain safetensors file: name -> tensor, in the header's order
        return {tname: tensor(tname) for tname in entries}
    return _decode(meta["tree"], tensor, name)


def _read(f: Any, mmap: bool | None) -> tuple:
    """The file's name (for messages) and its bytes (or a copy-on-write memory map)."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if os.path.isdir(path):
            raise IsADirectoryError(f"edunn.load: '{path}' is a directory, not a file")
        with open(path, "rb") as stream:
            if mmap and os.fstat(stream.fileno()).st_size > 0:
                return repr(path), _mmap.mmap(stream.fileno(), 0, access=_mmap.ACCESS_COPY)
            return repr(path), stream.read()
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    if not hasattr(f, "read"):
        raise TypeError(f"edunn.load: f must be a path (str or os.PathLike) or a binary file "
                        f"object with a read method, got {type(f).__name__}")
    data = None if isinstance(f, io.TextIOBase) else f.read()
    if data is None or isinstance(data, str):
        raise TypeError("edunn.load: f is a text file; open it in binary mode ('rb')")
    name = getattr(f, "name", None)
    return (repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"), data


def _bad(name: str, problem: str) -> RuntimeError:
    return RuntimeError(f"edunn.load: {name} is not a valid safetensors file: {problem}")


def _refuse_foreign(data: Any, name: str) -> None:
    """Recognise the files people try to load by mistake and say what they are."""
    head = bytes(data[:16])
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        what = ("a PyTorch torch.save file in the legacy (pre-1.6) format, which is a Python pickle"
                if head[2:4] == b"\x8a\x0a" else f"a Python pickle (protocol {head[1]})")
        raise RuntimeError(
            f"edunn.load: {name} is {what}. edunn never unpickles: unpickling runs whatever the "
            "file says (any object's __reduce__ may call os.system), so loading it could run "
            f"code. {_CONVERT_HINT}")
    if head[:4] == b"PK\x03\x04":
        try:
            members = zipfile.ZipFile(io.BytesIO(bytes(data))).namelist()
        except zipfile.BadZipFile:
            members = []
        if any(m.endswith("data.pkl") for m in members):
            raise RuntimeError(
                f"edunn.load: {name} is a PyTorch torch.save file (a zip archive holding a "
                "pickle, data.pkl). edunn never unpickles: unpickling runs whatever the file says "
                f"(any object's __reduce__ may call os.system), so loading it could run code. "
                f"{_CONVERT_HINT}")
        raise RuntimeError(f"edunn.load: {name} is a zip archive (a NumPy .npz?), not a "
                           "safetensors file")
    if head[:6] == b"\x93NUMPY":
        raise RuntimeError(f"edunn.load: {name} is a NumPy .npy file, not a safetensors file")


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = sorted(k for k in set(keys) if keys.count(k) > 1)
        raise ValueError(f"a key appears twice: {twice}")
    return dict(pairs)


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not JSON")


def _parse_header(data: Any, name: str) -> tuple:
    """Check the header against the format and return ``{name: (dtype, shape, begin, end)}`` in
    the header's order, where the buffer starts, and edunn's metadata (or None)."""
    size = len(data)
    if size == 0:
        raise _bad(name, "the file is empty (0 bytes)")
    _refuse_foreign(data, name)
    if size < 8:
        raise _bad(name, f"the file has {size} bytes, fewer than the 8-byte header length that "
                         "starts a safetensors file (truncated?)")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > size - 8:
        raise _bad(name, f"the first 8 bytes say the header is {n} bytes long but only {size - 8} "
                         "bytes follow (the file is truncated, or it is not safetensors)")
    if n > _MAX_HEADER:
        raise _bad(name, f"the header length {n} is over the format's limit of {_MAX_HEADER}")
    raw = bytes(data[8:8 + n])
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                            parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise _bad(name, f"the header is not valid UTF-8 JSON ({err})") from None
    if not isinstance(header, dict):
        raise _bad(name, f"the header is JSON {type(header).__name__}, not an object")
    start, length = 8 + n, size - 8 - n
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(v, str) for v in metadata.values())):
        raise _bad(name, "__metadata__ must map strings to strings")
    entries = {tname: _check_entry(info, tname, length, name) for tname, info in header.items()}
    end = 0
    previous = None
    for tname, (_, _, begin, stop) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
        if begin < end:
            raise _bad(name, f"tensor '{tname}' (bytes {begin}-{stop}) overlaps tensor "
                             f"'{previous}' (which ends at byte {end})")
        if begin > end:
            raise _bad(name, f"bytes {end}-{begin} of the data belong to no tensor (before "
                             f"'{tname}')")
        end, previous = stop, tname
    if end != length:
        raise _bad(name, f"{length - end} bytes follow the last tensor's data")
    meta = None
    if metadata is not None and "edunn" in metadata:
        meta = _check_meta(metadata["edunn"], name)
    return entries, start, meta


def _check_entry(info: Any, tname: str, length: int, name: str) -> tuple:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _bad(name, f"tensor '{tname}' must be described by exactly dtype, shape and "
                         f"data_offsets, got {info!r}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _DTYPE_OF_CODE:
        raise _bad(name, f"tensor '{tname}' has dtype {code!r}, which edunn does not have "
                         f"(edunn reads {', '.join(_DTYPE_OF_CODE)})")
    def is_count(x: Any) -> bool:
        return type(x) is int and x >= 0

    if not (isinstance(shape, list) and all(is_count(s) for s in shape)):
        raise _bad(name, f"tensor '{tname}' has shape {shape!r}; expected a list of sizes >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_count(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise _bad(name, f"tensor '{tname}' has data_offsets {offsets!r}; expected [begin, end] "
                         "with 0 <= begin <= end")
    begin, end = offsets
    if end > length:
        raise _bad(name, f"tensor '{tname}' ends at byte {end} of the data, but the file holds "
                         f"only {length} bytes of data (truncated?)")
    dtype = _DTYPE_OF_CODE[code]
    nbytes = math.prod(shape) * dtype.itemsize
    if end - begin != nbytes:
        raise _bad(name, f"tensor '{tname}' has shape {shape} and dtype {code}, which take "
                         f"{nbytes} bytes, but its data_offsets [{begin}, {end}] span "
                         f"{end - begin}")
    return dtype, tuple(shape), begin, end


def _check_meta(text: str, name: str) -> dict:
    try:
        meta = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise _bad(name, f"__metadata__['edunn'] is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or not {"format", "tree", "tensors"} <= set(meta):
        raise _bad(name, "__metadata__['edunn'] needs format, tree and tensors")
    if meta["format"] != FORMAT_VERSION:
        raise RuntimeError(f"edunn.load: {name} is in edunn's format {meta['format']!r}; this "
                           f"edunn reads format {FORMAT_VERSION} (upgrade edunn)")
    if not isinstance(meta["tensors"], dict):
        raise _bad(name, "__metadata__['edunn']['tensors'] must be an object")
    return meta


def _make_tensor(data: Any, start: int, entry: tuple, meta: Any, tname: str,
                 map_location: Any, copy: bool) -> Tensor:
    dtype, shape, begin, _ = entry
    info = meta["tensors"].get(tname, {}) if meta is not None else {}
    location = info.get("device", "cpu")
    array = backend.array_from_bytes(data, dtype.np, shape, start + begin, copy=copy)
    if info.get("complex"):  # a complex128 tensor stored as float64 (real, imaginary) pairs
        if dtype is not backend.float64 or not shape or shape[-1] != 2:
            raise RuntimeError(f"edunn.load: tensor '{tname}' is marked complex but is stored as "
                               f"{dtype.name} of shape {list(shape)}, not float64 pairs (..., 2)")
        array = array.view(backend.complex128.np).reshape(shape[:-1])
    if array.dtype.kind == "c":
        backend._note_complex()  # complex arrays made here, not through a dtype lookup
    t = _place(array, location, map_location)
    requires_grad = bool(info.get("requires_grad", False))
    if info.get("parameter"):
        from .nn import parameter  # imported here: nn sits above this module's layer
        param_cls = getattr(parameter, "Parameter", None)
        if param_cls is not None:
            return param_cls(t, requires_grad=requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _place(array: Any, location: str, map_location: Any) -> Tensor:
    """A tensor on the device ``map_location`` picks for data saved from ``location``."""
    if map_location is None:
        return _restore(array, location)
    if isinstance(map_location, (str, backend.device)):
        return _restore(array, str(map_location))
    if isinstance(map_location, dict):
        target = map_location.get(location, location)
        return _restore(array, str(target))
    if callable(map_location):
        result = map_location(Tensor._make(array), location)
        if result is None:
            return _restore(array, location)
        if not isinstance(result, Tensor):
            raise TypeError(f"edunn.load: map_location returned {type(result).__name__}; "
                            "expected a Tensor or None")
        return result
    raise TypeError(f"edunn.load: map_location must be None, a device or its name, a dict of "
                    f"names or a callable, got {type(map_location).__name__}")


def _restore(array: Any, location: str) -> Tensor:
    dev = backend.device(location)
    if dev.type == "cuda":
        if not backend.cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but edunn.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use edunn.load with "
                "map_location=edunn.device('cpu') to map your tensors to the CPU.")
        count = backend.cuda_device_count()
        if dev.index is not None and dev.index >= count:
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {dev.index} but "
                f"edunn.cuda.device_count() is {count}. Please use edunn.load with map_location "
                "to map your tensors to an existing device.")
    return Tensor._make(backend.to_device(array, backend.as_device(dev)))


def _decode(node: Any, tensor: Callable[[str], Tensor], name: str) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _TAGS):
        raise _bad(name, f"unexpected node {node!r} in edunn's tree (expected a scalar or an "
                         f"object with one of the tags {', '.join(_TAGS)})")
    (tag, value), = node.items()

    def bad(why: str) -> RuntimeError:
        return _bad(name, f"edunn's tree has a bad {tag!r} node {node!r} ({why})")

    if tag in ("tensor", "dtype", "device", "float"):
        if not isinstance(value, str):
            raise bad("expected a string")
        if tag == "tensor":
            return tensor(value)
        if tag == "dtype":
            if value not in _DTYPE_NAMES:
                raise bad(f"edunn has no dtype {value!r}")
            return backend._BY_NAME[value]
        if tag == "float":
            if value not in ("inf", "-inf", "nan"):
                raise bad("expected inf, -inf or nan")
            return float(value)
        try:
            return backend.device(value)
        except (TypeError, RuntimeError) as err:
            raise bad(str(err)) from None
    if not isinstance(value, list):
        raise bad("expected a list")
    if tag in ("dict", "odict"):
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in value):
            raise bad("expected a list of [key, value] pairs")
        pairs = [(_decode(k, tensor, name), _decode(v, tensor, name)) for k, v in value]
        try:
            return dict(pairs) if tag == "dict" else OrderedDict(pairs)
        except TypeError as err:  # a key that cannot be a key (a list)
            raise bad(str(err)) from None
    items = [_decode(v, tensor, name) for v in value]
    if tag == "size" and not all(type(n) is int for n in items):
        raise bad("a size holds ints")
    return {"list": list, "tuple": tuple, "size": Size}[tag](items)
