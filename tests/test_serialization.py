"""edunn.save / edunn.load: safetensors files, no pickle, atomic writes, map_location.

The expected bytes come from the safetensors specification (parsed here by hand) and from
PyTorch's own safetensors reader and writer, never from edunn's output alone.
"""
import ast
import io
import json
import math
import os
import pathlib
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import ml_dtypes

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson03

NP_DTYPES = {edunn.bool: np.bool_, edunn.uint8: np.uint8, edunn.int8: np.int8,
             edunn.int16: np.int16, edunn.int32: np.int32, edunn.int64: np.int64,
             edunn.float16: np.float16, edunn.bfloat16: ml_dtypes.bfloat16,
             edunn.float32: np.float32, edunn.float64: np.float64}
CODES = {edunn.bool: "BOOL", edunn.uint8: "U8", edunn.int8: "I8", edunn.int16: "I16",
         edunn.int32: "I32", edunn.int64: "I64", edunn.float16: "F16", edunn.bfloat16: "BF16",
         edunn.float32: "F32", edunn.float64: "F64"}


def random_tensor(dtype, shape, seed=0):
    """Random *bytes* reinterpreted as ``dtype``: NaNs with payloads, infinities, subnormals."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    np_dtype = np.dtype(NP_DTYPES[dtype])
    if dtype is edunn.bool:
        array = rng.integers(0, 2, n).astype(np.bool_)
    else:
        array = np.frombuffer(rng.bytes(n * np_dtype.itemsize), np_dtype).copy()
    return edunn.from_numpy(array.reshape(shape))


def raw(t):
    return t.detach().numpy().tobytes()


def roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    edunn.save(obj, buffer)
    buffer.seek(0)
    return edunn.load(buffer, **load_kwargs)


def torch_raw(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def parse(data):
    """The safetensors layout, read straight from the specification."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    return n, header, data[8 + n:]


def build(entries, buffer, metadata=None, pad=True):
    """A safetensors file written byte by byte from the specification."""
    header = dict(entries)
    if metadata is not None:
        header = {"__metadata__": metadata, **header}
    text = json.dumps(header).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def rewrite_meta(data, change):
    """``data`` with edunn's metadata passed through ``change`` (to fake other situations)."""
    _, header, buffer = parse(data)
    meta = json.loads(header["__metadata__"]["edunn"])
    change(meta)
    header["__metadata__"]["edunn"] = json.dumps(meta)
    metadata = header.pop("__metadata__")
    return build(header, buffer, metadata)


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", list(NP_DTYPES), ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (7,), (2, 3, 4)])
def test_every_dtype_round_trips_bit_exactly(dtype, shape):
    t = random_tensor(dtype, shape)
    back = roundtrip(t)
    assert type(back) is edunn.Tensor
    assert back.dtype is dtype and tuple(back.shape) == shape and str(back.device) == "cpu"
    assert raw(back) == raw(t)
    assert back.requires_grad is False


def test_non_contiguous_views_are_stored_as_their_elements():
    base = random_tensor(edunn.float32, (4, 6), seed=1)
    views = {"t": base.t(), "step": base[::2, 1::3], "expanded": base[:1].expand(3, 6),
             "diag": base.diagonal()}
    back = roundtrip(views)
    for key, view in views.items():
        assert back[key].is_contiguous()
        assert tuple(back[key].shape) == tuple(view.shape)
        assert raw(back[key]) == np.ascontiguousarray(view.numpy()).tobytes()


def test_nested_checkpoint_keeps_every_type():
    w, m = random_tensor(edunn.float32, (2, 3)), random_tensor(edunn.float64, (2, 3), seed=2)
    step = edunn.tensor(5.0)
    model = OrderedDict([("fc.weight", w), ("fc.bias", random_tensor(edunn.float32, (2,), 3)),
                         ("bn.num_batches_tracked", edunn.tensor(7))])
    checkpoint = {
        "model": model,
        "optimizer": {"state": {0: {"step": step, "exp_avg": m}, 1: {}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "amsgrad": False, "maximize": False, "foreach": None,
                                        "params": [0, 1]}]},
        "epoch": 3, "big": 2 ** 70, "neg": -12, "flag": True, "zero": 0, "one_float": 1.0,
        "name": "run-α ✓", "empty": ("", [], {}, (), OrderedDict()),
        "floats": [math.inf, -math.inf, math.nan, -0.0, 5e-324, 1.7976931348623157e308, 0.1],
        "dtypes": (edunn.bfloat16, edunn.bool), "devices": [edunn.device("cpu"), edunn.device("cuda:1")],
        "size": edunn.Size([2, 3]),
        "keys": {1: "a", -2: "b", 2.5: "c", False: "d", None: "e", (1, "x"): "f", "1": "g"},
        "lists": [[1, [2, (3, [4])]]],
    }
    back = roundtrip(checkpoint)
    assert list(back) == list(checkpoint)
    assert type(back["model"]) is OrderedDict and list(back["model"]) == list(model)
    for key in model:
        assert raw(back["model"][key]) == raw(model[key])
        assert back["model"][key].dtype is model[key].dtype
    opt = back["optimizer"]
    assert type(opt["state"]) is dict and list(opt["state"]) == [0, 1]
    assert all(type(k) is int for k in opt["state"])
    assert raw(opt["state"][0]["exp_avg"]) == raw(m) and opt["state"][0]["step"].dtype is edunn.float32
    assert opt["state"][1] == {}
    group = opt["param_groups"][0]
    assert group == checkpoint["optimizer"]["param_groups"][0]
    assert type(group["betas"]) is tuple and type(group["params"]) is list
    assert group["amsgrad"] is False and group["foreach"] is None
    for key in ("epoch", "big", "neg", "flag", "zero", "one_float", "name"):
        assert back[key] == checkpoint[key] and type(back[key]) is type(checkpoint[key])
    assert back["flag"] is True
    empty = back["empty"]
    assert [type(e) for e in empty] == [str, list, dict, tuple, OrderedDict]
    f = back["floats"]
    assert f[0] == math.inf and f[1] == -math.inf and math.isnan(f[2])
    assert math.copysign(1.0, f[3]) == -1.0 and f[4:] == checkpoint["floats"][4:]
    assert back["dtypes"] == (edunn.bfloat16, edunn.bool) and back["dtypes"][0] is edunn.bfloat16
    assert back["devices"] == [edunn.device("cpu"), edunn.device("cuda", 1)]
    assert type(back["size"]) is edunn.Size and back["size"] == (2, 3)
    assert list(back["keys"].items()) == list(checkpoint["keys"].items())
    assert [type(k) for k in back["keys"]] == [int, int, float, bool, type(None), tuple, str]
    assert back["lists"] == [[1, [2, (3, [4])]]]
    assert type(back["lists"][0][1][1]) is tuple


def test_plain_scalars_and_containers_at_the_top():
    for obj in (None, 3, 2.5, "x", True, [1, 2], (1,), {}, OrderedDict(a=1)):
        back = roundtrip(obj)
        assert back == obj and type(back) is type(obj)


def test_a_tensor_that_appears_twice_is_stored_once_and_comes_back_as_one():
    w = random_tensor(edunn.float32, (3, 3))
    other = random_tensor(edunn.float32, (3, 3), seed=5)
    buffer = io.BytesIO()
    edunn.save({"encoder.weight": w, "decoder.weight": w, "other": other, "again": [w, (w,)]}, buffer)
    _, header, data = parse(buffer.getvalue())
    assert sorted(k for k in header if k != "__metadata__") == ["encoder.weight", "other"]
    assert len(data) == 2 * 9 * 4
    back = edunn.load(io.BytesIO(buffer.getvalue()))
    assert back["encoder.weight"] is back["decoder.weight"] is back["again"][0] is back["again"][1][0]
    assert back["other"] is not back["encoder.weight"]
    assert raw(back["encoder.weight"]) == raw(w)


def test_requires_grad_is_kept():
    a = edunn.randn(3, requires_grad=True)
    b = (a * 2)  # a non-leaf: comes back as a leaf that requires grad, as in torch.load
    back = roundtrip({"a": a, "b": b, "c": edunn.ones(2)})
    assert back["a"].requires_grad and back["a"].is_leaf
    assert back["b"].requires_grad and back["b"].is_leaf and back["b"].grad_fn is None
    assert not back["c"].requires_grad
    assert raw(back["b"]) == raw(b.detach())


def test_parameters_come_back_as_parameters():
    Parameter = getattr(edunn.nn, "Parameter", None)
    if Parameter is None:
        pytest.skip("edunn.nn.Parameter is not written yet")
    p = Parameter(random_tensor(edunn.float32, (2, 2)))
    frozen = Parameter(random_tensor(edunn.float32, (2,), seed=1), requires_grad=False)
    back = roundtrip({"p": p, "frozen": frozen, "again": p, "t": edunn.zeros(1)})
    assert isinstance(back["p"], Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], Parameter) and not back["frozen"].requires_grad
    assert back["again"] is back["p"] and not isinstance(back["t"], Parameter)
    assert raw(back["p"]) == raw(p)


# ------------------------------------------------------------------------------- the format
def test_state_dict_file_follows_the_safetensors_layout():
    sd = OrderedDict((f"t{i}.{d.name}", random_tensor(d, (i + 1, 2), seed=i))
                     for i, d in enumerate(NP_DTYPES))
    buffer = io.BytesIO()
    edunn.save(sd, buffer)
    data = buffer.getvalue()
    n, header, body = parse(data)
    assert n % 8 == 0 and data[8:8 + n].decode().endswith(("}", " "))
    assert data[8:9] == b"{"
    meta = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in meta.values())
    assert set(header) == set(sd)  # a flat state_dict keeps its own keys as tensor names
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(body)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for key, t in sd.items():
        entry = header[key]
        assert entry["dtype"] == CODES[t.dtype] and entry["shape"] == list(t.shape)
        begin, end = entry["data_offsets"]
        assert begin % t.dtype.itemsize == 0  # aligned, so a memory map can use it in place
        assert body[begin:end] == t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
    assert edunn.load(io.BytesIO(data))["t0.bool"].dtype is edunn.bool


def test_nested_objects_name_tensors_by_their_path():
    buffer = io.BytesIO()
    t = edunn.ones(2)
    edunn.save({"model": {"fc.weight": t}, "opt": {"state": {0: {"exp_avg": edunn.zeros(2)}}},
                "list": [edunn.zeros(1)], "model.fc.weight": edunn.zeros(3)}, buffer)
    _, header, _ = parse(buffer.getvalue())
    header.pop("__metadata__")
    assert set(header) == {"model.fc.weight", "opt.state.0.exp_avg", "list.0", "model.fc.weight#1"}
    buffer = io.BytesIO()
    edunn.save(t, buffer)
    assert "tensor" in parse(buffer.getvalue())[1]


def test_file_written_from_the_specification_loads_as_a_dict():
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([-1, 2 ** 40], dtype="<i8")
    c = np.array([True, False, True])
    body = b.tobytes() + a.tobytes() + c.tobytes()
    data = build({"b": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},
                  "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [16, 40]},
                  "empty": {"dtype": "F16", "shape": [0, 4], "data_offsets": [40, 40]},
                  "c": {"dtype": "BOOL", "shape": [3], "data_offsets": [40, 43]}},
                 body, metadata={"format": "pt"}, pad=False)
    back = edunn.load(io.BytesIO(data))
    assert type(back) is dict and list(back) == ["b", "a", "empty", "c"]
    assert back["a"].dtype is edunn.float32 and back["a"].tolist() == a.tolist()
    assert back["b"].dtype is edunn.int64 and back["b"].tolist() == [-1, 2 ** 40]
    assert back["c"].tolist() == [True, False, True]
    assert back["empty"].dtype is edunn.float16 and tuple(back["empty"].shape) == (0, 4)
    assert not back["a"].requires_grad
    back["a"].add_(1)  # the loaded data is the tensor's own, writable
    assert edunn.load(io.BytesIO(build({}, b"")))== {}


# ------------------------------------------------------------------------------- interop
@needs_torch
def test_pytorch_reads_edunn_state_dict_through_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    sd = {f"layer{i}.{d.name}": random_tensor(d, (2, i + 1), seed=i) for i, d in enumerate(NP_DTYPES)}
    sd["scalar"] = edunn.tensor(3.5)
    sd["view"] = random_tensor(edunn.float64, (3, 4), seed=9).t()
    path = tmp_path / "model.safetensors"
    edunn.save(sd, path)
    loaded = st.load_file(str(path))
    assert set(loaded) == set(sd)
    for key, t in sd.items():
        theirs = loaded[key]
        assert str(theirs.dtype) == "torch." + t.dtype.name and tuple(theirs.shape) == tuple(t.shape)
        assert torch_raw(theirs) == raw(t)


@needs_torch
def test_edunn_reads_files_pytorch_wrote_with_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    g = torch.Generator().manual_seed(0)
    theirs = {"w": torch.randn(3, 4, generator=g), "b16": torch.randn(5, generator=g).bfloat16(),
              "h": torch.randn(2, 2, generator=g).half(), "d": torch.randn(2, generator=g).double(),
              "i": torch.arange(-3, 3), "i32": torch.arange(4, dtype=torch.int32),
              "i16": torch.arange(4, dtype=torch.int16), "i8": torch.arange(-2, 2, dtype=torch.int8),
              "u8": torch.arange(250, 256, dtype=torch.uint8), "m": torch.rand(4, generator=g) > 0.5,
              "s": torch.tensor(2.0), "e": torch.zeros(0, 3)}
    path = tmp_path / "torch.safetensors"
    st.save_file(theirs, str(path), metadata={"format": "pt"})
    back = edunn.load(path)
    assert type(back) is dict and set(back) == set(theirs)
    for key, t in theirs.items():
        assert back[key].dtype.name == str(t.dtype)[len("torch."):]
        assert tuple(back[key].shape) == tuple(t.shape)
        assert raw(back[key]) == torch_raw(t)


# ------------------------------------------------------------------------------- damaged files
def good_file():
    buffer = io.BytesIO()
    edunn.save({"a": edunn.arange(4, dtype=edunn.float32), "b": edunn.ones(2, dtype=edunn.int64)}, buffer)
    return buffer.getvalue()


ONE = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
DAMAGED = {
    "empty": (b"", "empty"),
    "shorter than the length field": (b"\x01\x02\x03", "fewer than the 8-byte"),
    "header longer than the file": (struct.pack("<Q", 1000) + b"{}", "truncated"),
    "huge header length": (struct.pack("<Q", 2 ** 63) + b"{}" * 3, "truncated"),
    "bad JSON": (struct.pack("<Q", 8) + b"{not js}", "not valid UTF-8 JSON"),
    "not UTF-8": (struct.pack("<Q", 8) + b'{"\xff\xfe":1}', "not valid UTF-8 JSON"),
    "header is a list": (struct.pack("<Q", 8) + b"[1, 2]  ", "not an object"),
    "NaN in the header": (struct.pack("<Q", 8) + b'{"a":NaN', "not valid UTF-8 JSON"),
    "duplicate name": (struct.pack("<Q", 16) + b'{"a":1, "a":2}  ', "appears twice"),
    "unknown dtype": (build({"x": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)),
                      "'U16', which edunn does not have"),
    "float8": (build({"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, bytes(2)),
               "does not have"),
    "shape does not match the bytes": (build({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
                                             bytes(8)), "take 12 bytes"),
    "negative size": (build({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
                      "shape"),
    "offsets past the end": (build({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                                   bytes(8)), "only 8 bytes of data"),
    "reversed offsets": (build({"x": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, bytes(8)),
                         "data_offsets"),
    "overlap": (build({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
                "overlaps"),
    "gap": (build({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "y": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, bytes(12)),
            "belong to no tensor"),
    "bytes after the last tensor": (build(ONE, bytes(12)), "4 bytes follow"),
    "missing field": (build({"x": {"dtype": "F32", "shape": [2]}}, bytes(8)), "exactly dtype"),
    "metadata not strings": (build(ONE, bytes(8), metadata={"edunn": 3}), "strings to strings"),
    "edunn metadata not JSON": (build(ONE, bytes(8), metadata={"edunn": "{"}), "not valid JSON"),
    "edunn metadata incomplete": (build(ONE, bytes(8), metadata={"edunn": '{"format": 1}'}),
                                  "needs format, tree and tensors"),
    "newer format": (build(ONE, bytes(8), metadata={"edunn": '{"format": 2, "tree": null, "tensors": {}}'}),
                     "format 2"),
    "unknown tree node": (build(ONE, bytes(8), metadata={
        "edunn": '{"format": 1, "tree": {"set": [1]}, "tensors": {}}'}), "unexpected node"),
    "bad float": (build(ONE, bytes(8), metadata={
        "edunn": '{"format": 1, "tree": {"float": "1e3"}, "tensors": {}}'}), "bad 'float' node"),
    "list as key": (build(ONE, bytes(8), metadata={
        "edunn": '{"format": 1, "tree": {"dict": [[{"list": []}, 1]]}, "tensors": {}}'}), "bad 'dict'"),
    "missing tensor": (build(ONE, bytes(8), metadata={
        "edunn": '{"format": 1, "tree": {"tensor": "nope"}, "tensors": {}}'}), "'nope'"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_files_raise_naming_file_and_problem(case, tmp_path):
    data, message = DAMAGED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(RuntimeError, match="bad.safetensors") as info:
        edunn.load(path)
    assert message in str(info.value)
    with pytest.raises(RuntimeError, match="BytesIO"):
        edunn.load(io.BytesIO(data))


@pytest.mark.parametrize("cut", [1, 7, 200])
def test_truncated_file_is_refused(cut):
    data = good_file()
    with pytest.raises(RuntimeError, match="truncated"):
        edunn.load(io.BytesIO(data[:-cut]))


def test_a_directory_or_a_missing_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        edunn.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        edunn.load(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        edunn.save({}, tmp_path)
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        edunn.save({}, tmp_path / "no" / "x.safetensors")


# ------------------------------------------------------------------------------- no pickle
class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_a_crafted_pickle_is_refused_and_never_runs(protocol, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": _Exploit(marker)}, protocol=protocol))
    with pytest.raises(RuntimeError) as info:
        edunn.load(path, weights_only=False)
    if protocol >= 2:
        assert "pickle" in str(info.value) and "never unpickles" in str(info.value)
        assert "safetensors" in str(info.value)
    assert not marker.exists()


@needs_torch
@pytest.mark.parametrize("zipfile_format", [True, False])
def test_a_torch_save_file_is_refused(zipfile_format, tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=zipfile_format)
    with pytest.raises(RuntimeError, match="PyTorch torch.save file") as info:
        edunn.load(path)
    assert "never unpickles" in str(info.value) and "save_file" in str(info.value)


def test_other_formats_are_named(tmp_path):
    buffer = io.BytesIO()
    np.savez(buffer, a=np.ones(2))
    with pytest.raises(RuntimeError, match="zip archive"):
        edunn.load(io.BytesIO(buffer.getvalue()))
    buffer = io.BytesIO()
    np.save(buffer, np.ones(2))
    with pytest.raises(RuntimeError, match="NumPy .npy"):
        edunn.load(io.BytesIO(buffer.getvalue()))
    zbuffer = io.BytesIO()
    with zipfile.ZipFile(zbuffer, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(1))
    with pytest.raises(RuntimeError, match="torch.save"):
        edunn.load(io.BytesIO(zbuffer.getvalue()))


def test_the_library_never_imports_pickle():
    tree = ast.parse(pathlib.Path(edunn.serialization.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert not imported & {"pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}


# ------------------------------------------------------------------------------- bad objects
class Holder:
    def state_dict(self):
        return {}


@pytest.mark.parametrize("obj, where, what", [
    ({"state": {0: {"fn": lambda x: x}}}, r"obj\['state'\]\[0\]\['fn'\]", "function"),
    ([1, {2, 3}], r"obj\[1\]", "set"),
    (Holder(), "obj,", "state_dict"),
    ({"a": (1, b"bytes")}, r"obj\['a'\]\[1\]", "bytes"),
    ({"a": 1 + 2j}, r"obj\['a'\]", "complex"),
    ({edunn.ones(1): 1}, "tensor is used as a dict key", ""),
    ({"k": {frozenset([1]): 2}}, r"obj\['k'\]\[frozenset\(\{1\}\)\]", "frozenset"),
])
def test_unsupported_objects_raise_type_error_with_their_path(obj, where, what, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(TypeError, match=where) as info:
        edunn.save(obj, path)
    assert what in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file
    buffer = io.BytesIO()
    with pytest.raises(TypeError):
        edunn.save(obj, buffer)
    assert buffer.getvalue() == b""


def test_a_cycle_is_refused():
    loop = []
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        edunn.save({"x": loop}, io.BytesIO())
    shared = [1]
    assert roundtrip([shared, shared]) == [[1], [1]]  # shared but not cyclic: fine


# ------------------------------------------------------------------------------- files and paths
def test_paths_and_file_objects(tmp_path):
    obj = {"w": random_tensor(edunn.float32, (3,))}
    as_str = str(tmp_path / "a.safetensors")
    edunn.save(obj, as_str)
    assert raw(edunn.load(as_str)["w"]) == raw(obj["w"])
    as_path = tmp_path / "b.safetensors"
    edunn.save(obj, as_path)
    assert raw(edunn.load(as_path)["w"]) == raw(obj["w"])
    with open(tmp_path / "c.safetensors", "wb") as fh:
        edunn.save(obj, fh)
    with open(tmp_path / "c.safetensors", "rb") as fh:
        assert raw(edunn.load(fh)["w"]) == raw(obj["w"])
    assert as_path.read_bytes() == (tmp_path / "c.safetensors").read_bytes()
    with open(tmp_path / "d.txt", "w") as fh, pytest.raises(TypeError, match="binary"):
        edunn.save(obj, fh)
    with open(as_str, "r") as fh, pytest.raises(TypeError, match="binary"):
        edunn.load(fh)
    with pytest.raises(TypeError, match="path"):
        edunn.save(obj, 3)
    with pytest.raises(TypeError, match="path"):
        edunn.load(3)


def test_pytorch_compatibility_arguments_are_accepted():
    buffer = io.BytesIO()
    edunn.save({"a": edunn.ones(1)}, buffer, pickle_module=pickle, pickle_protocol=4,
               _use_new_zipfile_serialization=False)
    for kwargs in ({"weights_only": True}, {"weights_only": False}, {"pickle_module": pickle},
                   {"encoding": "latin1"}):
        buffer.seek(0)
        assert edunn.load(buffer, **kwargs)["a"].tolist() == [1.0]


def test_memory_mapped_load_is_copy_on_write(tmp_path):
    path = tmp_path / "m.safetensors"
    obj = {"w": random_tensor(edunn.float32, (4, 4)), "b": random_tensor(edunn.bfloat16, (3,)),
           "e": edunn.zeros(0), "m": random_tensor(edunn.bool, (5,))}
    edunn.save(obj, path)
    before = path.read_bytes()
    back = edunn.load(path, mmap=True)
    for key in obj:
        assert raw(back[key]) == raw(obj[key])
    back["w"].zero_()
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="file path"):
        edunn.load(io.BytesIO(before), mmap=True)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(RuntimeError, match="empty"):
        edunn.load(tmp_path / "empty", mmap=True)


# ------------------------------------------------------------------------------- atomic writes
def test_an_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = {"w": random_tensor(edunn.float32, (8,)), "step": 1}
    edunn.save(old, path)
    before = path.read_bytes()
    calls = []
    real = edunn.backend.array_to_bytes

    def failing(array):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(array)

    monkeypatch.setattr(edunn.backend, "array_to_bytes", failing)
    new = {"w": random_tensor(edunn.float32, (8,), 2), "v": random_tensor(edunn.float32, (8,), 3)}
    with pytest.raises(OSError, match="disk full"):
        edunn.save(new, path)
    assert len(calls) == 2  # it failed in the middle of the tensor data
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    back = edunn.load(path)
    assert back["step"] == 1 and raw(back["w"]) == raw(old["w"])

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(edunn.backend, "array_to_bytes", real)
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        edunn.save(new, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    monkeypatch.undo()
    edunn.save(new, path)
    assert raw(edunn.load(path)["v"]) == raw(new["v"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]


def test_overwriting_keeps_permissions_and_a_new_file_follows_the_umask(tmp_path):
    path = tmp_path / "p.safetensors"
    edunn.save({}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o600)
    edunn.save({"a": 1}, path)
    assert path.stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------------------- map_location
def saved_on(location):
    """A file whose tensors were saved on ``location`` (faked by rewriting the metadata)."""
    buffer = io.BytesIO()
    edunn.save({"w": edunn.arange(3, dtype=edunn.float32), "p": edunn.ones(2, requires_grad=True)}, buffer)

    def move(meta):
        for info in meta["tensors"].values():
            info["device"] = location

    return rewrite_meta(buffer.getvalue(), move)


def test_map_location_variants_on_the_cpu():
    data = saved_on("cpu")
    for where in (None, "cpu", edunn.device("cpu"), {"cuda:0": "cuda:1"}, {"cpu": "cpu"}):
        back = edunn.load(io.BytesIO(data), map_location=where)
        assert str(back["w"].device) == "cpu" and back["w"].tolist() == [0.0, 1.0, 2.0]
        assert back["p"].requires_grad
    seen = []

    def to_double(t, location):
        seen.append(location)
        return t.double()

    back = edunn.load(io.BytesIO(data), map_location=to_double)
    assert seen == ["cpu", "cpu"] and back["w"].dtype is edunn.float64
    back = edunn.load(io.BytesIO(data), map_location=lambda t, loc: None)
    assert back["w"].dtype is edunn.float32
    with pytest.raises(TypeError, match="map_location returned"):
        edunn.load(io.BytesIO(data), map_location=lambda t, loc: 3)
    with pytest.raises(TypeError, match="map_location must be"):
        edunn.load(io.BytesIO(data), map_location=3.5)


@pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the message a CPU-only machine gives")
def test_a_cuda_file_on_a_cpu_only_machine_needs_map_location():
    data = saved_on("cuda:0")
    with pytest.raises(RuntimeError, match="map_location=edunn.device\\('cpu'\\)"):
        edunn.load(io.BytesIO(data))
    for where in ("cpu", {"cuda:0": "cpu"}, lambda t, loc: t):
        back = edunn.load(io.BytesIO(data), map_location=where)
        assert str(back["w"].device) == "cpu" and back["p"].requires_grad
    seen = []
    edunn.load(io.BytesIO(data), map_location=lambda t, loc: seen.append(loc) or t)
    assert seen == ["cuda:0", "cuda:0"]
    with pytest.raises(RuntimeError, match="CUDA"):
        edunn.load(io.BytesIO(data), map_location={"cuda:1": "cpu"})


@pytest.mark.gpu
def test_cuda_tensors_come_back_on_their_device_or_where_mapped():
    t = random_tensor(edunn.float32, (3, 4)).to("cuda")
    h = random_tensor(edunn.float16, (5,)).to("cuda")
    back = roundtrip({"t": t, "h": h, "cpu": edunn.ones(1)})
    assert str(back["t"].device) == "cuda:0" and str(back["cpu"].device) == "cpu"
    assert raw(back["t"].cpu()) == raw(t.cpu()) and raw(back["h"].cpu()) == raw(h.cpu())
    back = roundtrip({"t": t}, map_location="cpu")
    assert str(back["t"].device) == "cpu" and raw(back["t"]) == raw(t.cpu())
    back = roundtrip({"c": edunn.ones(2)}, map_location={"cpu": "cuda:0"})
    assert str(back["c"].device) == "cuda:0"
    count = edunn.cuda.device_count()
    with pytest.raises(RuntimeError, match=f"device_count\\(\\) is {count}"):
        edunn.load(io.BytesIO(saved_on(f"cuda:{count}")))


# ------------------------------------------------------------------------------- modules
class Net(edunn.nn.Module):
    """A small module written here: a parameter, a persistent and a non-persistent buffer, and
    a submodule with its own parameters."""

    def __init__(self):
        super().__init__()
        self.scale = edunn.nn.Parameter(edunn.randn(3))
        self.register_buffer("running_mean", edunn.randn(3))
        self.register_buffer("scratch", edunn.zeros(3), persistent=False)
        self.register_buffer("num_batches_tracked", edunn.tensor(0))
        self.inner = edunn.nn.Module()
        self.inner.weight = edunn.nn.Parameter(edunn.randn(2, 3))
        self.inner.bias = edunn.nn.Parameter(edunn.randn(2).bfloat16(), requires_grad=False)

    def forward(self, x):
        return (x * self.scale + self.running_mean) @ self.inner.weight.t()


def test_a_module_state_dict_loads_back_into_a_fresh_module(tmp_path):
    edunn.manual_seed(1)
    net = Net()
    net.num_batches_tracked.add_(4)
    path = tmp_path / "net.safetensors"
    edunn.save(net.state_dict(), path)
    sd = edunn.load(path)
    assert list(sd) == list(net.state_dict()) == ["scale", "running_mean", "num_batches_tracked",
                                                  "inner.weight", "inner.bias"]
    edunn.manual_seed(2)
    fresh = Net()
    result = fresh.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    for key, value in net.state_dict().items():
        assert raw(fresh.state_dict()[key]) == raw(value)
        assert fresh.state_dict()[key].dtype is value.dtype
    assert isinstance(fresh.scale, edunn.nn.Parameter) and not fresh.inner.bias.requires_grad
    x = edunn.randn(4, 3)
    assert raw(fresh(x)) == raw(net(x))
    with pytest.raises(TypeError, match=r"obj, of type .*Net \(save its state_dict\(\) instead\)"):
        edunn.save(net, tmp_path / "module.safetensors")


@needs_torch
def test_a_module_state_dict_loads_into_the_same_pytorch_module(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    net = Net()
    path = tmp_path / "net.safetensors"
    edunn.save(net.state_dict(), path)
    theirs = torch.nn.Module()
    theirs.scale = torch.nn.Parameter(torch.zeros(3))
    theirs.register_buffer("running_mean", torch.zeros(3))
    theirs.register_buffer("num_batches_tracked", torch.tensor(0))
    theirs.inner = torch.nn.Linear(3, 2).to(torch.bfloat16)
    theirs.inner.weight.data = theirs.inner.weight.data.float()
    theirs.load_state_dict(st.load_file(str(path)))
    for key, value in net.state_dict().items():
        assert torch_raw(theirs.state_dict()[key]) == raw(value)


def test_an_optimizer_checkpoint_resumes_exactly(tmp_path):
    edunn.manual_seed(3)
    net = Net()
    opt = edunn.optim.Adam(net.parameters(), lr=0.01, betas=(0.8, 0.99))
    for _ in range(2):
        opt.zero_grad()
        net(edunn.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    path = tmp_path / "ckpt.safetensors"
    edunn.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path)
    ckpt = edunn.load(path)
    saved = opt.state_dict()
    assert ckpt["epoch"] == 2
    assert ckpt["optimizer"]["param_groups"] == saved["param_groups"]
    assert list(ckpt["optimizer"]["state"]) == list(saved["state"])
    for index, state in saved["state"].items():
        for key, value in state.items():
            if isinstance(value, edunn.Tensor):
                assert raw(ckpt["optimizer"]["state"][index][key]) == raw(value)
            else:
                assert ckpt["optimizer"]["state"][index][key] == value
    fresh = Net()
    fresh.load_state_dict(ckpt["model"])
    fresh_opt = edunn.optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(ckpt["optimizer"])
    x = edunn.randn(5, 3)
    for model, optimizer in ((net, opt), (fresh, fresh_opt)):
        optimizer.zero_grad()
        model(x).pow(2).sum().backward()
        optimizer.step()
    for a, b in zip(net.parameters(), fresh.parameters()):
        assert raw(a) == raw(b)


def test_an_uninitialized_parameter_cannot_be_saved():
    lazy = edunn.nn.UninitializedParameter()
    with pytest.raises(TypeError, match=r"obj\['w'\] is an uninitialized parameter"):
        edunn.save({"w": lazy}, io.BytesIO())
