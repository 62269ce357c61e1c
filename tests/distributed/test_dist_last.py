"""The last public functions of torch.distributed in edunn.distributed: ``rendezvous`` and
``register_rendezvous_handler`` (env/tcp/file URLs with a world of one and a scheme of our own,
each run through torch's and ours and compared), ``supports_complex``, ``is_ucc_available``,
``is_xccl_available``, the signatures of all of them, the argument errors of ``shrink_group``
(torch's messages), then ``scripts/last.py`` under ``mpiexec -n 2`` for ``all_gather_single``,
``reduce_scatter_single``, ``record_comm`` and ``shrink_group`` on live groups."""
import datetime
import inspect
import socket
import sys

import pytest

import edunn
import edunn.distributed as dist

from _mpi_harness import assert_passed, check_names, launch
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson18

NAMES = ["all_gather_single", "reduce_scatter_single", "is_ucc_available", "is_xccl_available",
         "supports_complex", "rendezvous", "register_rendezvous_handler", "shrink_group", "record_comm"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"]
SHORT = datetime.timedelta(seconds=5)


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torch_handlers():
    return sys.modules["torch.distributed.rendezvous"]._rendezvous_handlers


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours, theirs = getattr(dist, name), getattr(torch.distributed, name)
    assert _params(ours) == _params(theirs)


@needs_torch
def test_record_comm_is_a_context_manager_as_torchs():
    import contextlib
    assert isinstance(dist.record_comm("x"), contextlib.AbstractContextManager)
    assert isinstance(torch.distributed.record_comm("x"), contextlib.AbstractContextManager)


@needs_torch
@pytest.mark.parametrize("op", OPS)
def test_supports_complex_table_equals_torchs(op):
    expected = torch.distributed.supports_complex(getattr(torch.distributed.ReduceOp, op))
    assert dist.supports_complex(getattr(dist.ReduceOp, op)) is expected


@needs_torch
def test_supports_complex_takes_a_reduce_op_object():
    R = dist.ReduceOp
    assert dist.supports_complex(R(R.MAX)) is torch.distributed.supports_complex(torch.distributed.ReduceOp.MAX)
    assert dist.supports_complex(R(R.SUM)) is torch.distributed.supports_complex(torch.distributed.ReduceOp.SUM)


@needs_torch
def test_no_ucc_nor_xccl():
    assert dist.is_ucc_available() is False and dist.is_xccl_available() is False
    assert torch.distributed.is_ucc_available() is False and torch.distributed.is_xccl_available() is False


def _both(fn):
    """``fn(module)`` for torch.distributed and edunn.distributed."""
    return fn(torch.distributed), fn(dist)


def _use(store):
    store.set("k", "v")
    return store.get("k")


@needs_torch
def test_file_rendezvous_world_of_one(tmp_path):
    got = {}
    for name, mod in (("torch", torch.distributed), ("edunn", dist)):
        it = mod.rendezvous(f"file://{tmp_path / name}", 0, 1)
        store, rank, size = next(it)
        got[name] = (type(store).__name__, rank, size, _use(store))
        with pytest.raises(RuntimeError) as e:
            next(it)
        got[name] += (str(e.value),)
    assert got["edunn"] == got["torch"]
    assert got["edunn"][0] == "FileStore" and got["edunn"][3] == b"v"


@needs_torch
def test_tcp_rendezvous_world_of_one():
    got = {}
    for name, mod in (("torch", torch.distributed), ("edunn", dist)):
        it = mod.rendezvous(f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1, timeout=SHORT)
        store, rank, size = next(it)
        got[name] = (type(store).__name__, rank, size, _use(store))
        with pytest.raises(RuntimeError) as e:
            next(it)
        got[name] += (str(e.value),)
    assert got["edunn"] == got["torch"] and got["edunn"][0] == "TCPStore"


@needs_torch
def test_env_rendezvous_world_of_one(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    got = {}
    for name, mod in (("torch", torch.distributed), ("edunn", dist)):
        monkeypatch.setenv("MASTER_PORT", str(_free_port()))
        store, rank, size = next(mod.rendezvous("env://", timeout=SHORT))
        got[name] = (type(store).__name__, rank, size, _use(store))
    assert got["edunn"] == got["torch"] == ("TCPStore", 0, 1, b"v")


@needs_torch
@pytest.mark.parametrize("var", ["RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"])
def test_env_rendezvous_names_the_missing_variable(monkeypatch, var):
    for v, value in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1"), ("RANK", "0"), ("WORLD_SIZE", "1")):
        monkeypatch.setenv(v, value)
    monkeypatch.delenv(var)
    msgs = []
    for mod in (torch.distributed, dist):
        with pytest.raises(ValueError) as e:
            next(mod.rendezvous("env://", timeout=SHORT))
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and f"{var} expected, but not set" in msgs[1]


@pytest.fixture
def custom_scheme():
    """A scheme registered in torch and in edunn for one test, and what each handler was given."""
    scheme, seen = "edunnlastrdzv", {}

    def make(name):
        def handler(url, **kwargs):
            seen[name] = (url, kwargs)
            yield dist.HashStore(), 3, 4
        return handler
    if torch is not None:
        torch.distributed.register_rendezvous_handler(scheme, make("torch"))
    dist.register_rendezvous_handler(scheme, make("edunn"))
    yield scheme, seen
    if torch is not None:
        _torch_handlers().pop(scheme, None)
    dist.rendezvous.__globals__["_rendezvous_handlers"].pop(scheme, None)


@needs_torch
@pytest.mark.parametrize("rank,world_size", [(-1, -1), (0, 2), (1, -1), (-1, 5)])
def test_custom_scheme_gets_the_url_torch_builds(custom_scheme, rank, world_size):
    scheme, seen = custom_scheme
    url = f"{scheme}://host:99/path?x=1"
    for mod in (torch.distributed, dist):
        store, r, size = next(mod.rendezvous(url, rank, world_size, flag=True))
        assert (r, size) == (3, 4)
    assert seen["edunn"] == seen["torch"]
    assert seen["edunn"][1] == {"flag": True}


@needs_torch
def test_registering_a_scheme_twice_is_torchs_error(custom_scheme):
    scheme, _ = custom_scheme
    msgs = []
    for mod in (torch.distributed, dist):
        with pytest.raises(RuntimeError) as e:
            mod.register_rendezvous_handler(scheme, lambda url: iter(()))
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] == f"Rendezvous handler for {scheme}:// already registered"
    with pytest.raises(RuntimeError, match="already registered"):
        dist.register_rendezvous_handler("env", lambda url: iter(()))


@needs_torch
@pytest.mark.parametrize("call,kind", [
    (lambda m: m.rendezvous("nosuchscheme://x", 0, 1), RuntimeError),        # unknown scheme
    (lambda m: m.rendezvous(5), RuntimeError),                                # url not a string
    (lambda m: m.rendezvous("file:///tmp/x", 0.5, 1), RuntimeError),          # rank not an integer
    (lambda m: m.rendezvous("file:///tmp/x", 0, "1"), RuntimeError),          # world_size not an integer
    (lambda m: m.rendezvous("tcp://h:1?rank=0", 0, 1), AssertionError),       # rank twice
    (lambda m: next(m.rendezvous("tcp://host", 0, 1)), ValueError),           # no port
    (lambda m: next(m.rendezvous("tcp://host:1", world_size=1)), ValueError),  # no rank
    (lambda m: next(m.rendezvous("tcp://host:1", rank=0)), ValueError),       # no world size
    (lambda m: next(m.rendezvous("file:///tmp/x")), ValueError),              # no rank
    (lambda m: next(m.rendezvous("file://", 0, 1)), ValueError),              # no path
    (lambda m: next(m.rendezvous("tcp://h:70000", 0, 1)), ValueError),        # port out of range
])
def test_rendezvous_errors_are_torchs(call, kind):
    msgs = []
    for mod in (torch.distributed, dist):
        with pytest.raises(kind) as e:
            call(mod)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@needs_torch
@pytest.mark.parametrize("args,kind", [
    (((1,),), TypeError),          # not a list
    (([],), ValueError),           # empty
    (([1], None, 7), ValueError),  # bad flags
])
def test_shrink_group_argument_errors_are_torchs(args, kind):
    msgs = []
    for mod in (torch.distributed, dist):
        with pytest.raises(kind) as e:
            mod.shrink_group(*args)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_record_comm_restores_the_name():
    from edunn.distributed._group import _state
    with dist.record_comm("outer"):
        with dist.record_comm("inner"):
            assert _state.comm_name == "inner"
        assert _state.comm_name == "outer"
    assert _state.comm_name is None


@pytest.mark.gpu
def test_nccl_init_method_goes_through_the_rendezvous_handlers(tmp_path, device):
    """On a GPU: a world of one NCCL process met through a file:// URL and through a scheme of
    our own registered for the test."""
    if device != "cuda":
        pytest.skip("NCCL needs a CUDA device")
    if not dist.is_nccl_available():
        pytest.skip("CuPy's NCCL is not available")
    seen = []

    def handler(url, **kwargs):
        seen.append(url)
        yield dist.HashStore(), 0, 1
    dist.register_rendezvous_handler("edunnlastgpu", handler)
    try:
        for url in (f"file://{tmp_path / 'store'}", "edunnlastgpu://anywhere"):
            dist.init_process_group("nccl", init_method=url, rank=0, world_size=1, device_id=device)
            try:
                t = edunn.ones(3, device=device)
                dist.all_reduce(t)
                assert t.cpu().tolist() == [1.0, 1.0, 1.0] and dist.get_world_size() == 1
            finally:
                dist.destroy_process_group()
        assert seen == ["edunnlastgpu://anywhere?rank=0&world_size=1"]
    finally:
        dist.rendezvous.__globals__["_rendezvous_handlers"].pop("edunnlastgpu", None)


@pytest.fixture(scope="module")
def two():
    return launch("last.py", n=2, timeout=90)


@pytest.mark.parametrize("check", check_names("last.py"))
def test_two_processes(two, check):
    assert_passed(two, check, range(2))


def test_two_processes_exit_cleanly(two):
    proc, _ = two
    assert proc.returncode == 0, proc.stderr[-3000:]
