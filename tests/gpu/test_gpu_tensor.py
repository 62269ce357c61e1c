"""Tensors and devices (lessons 01 and 18): creation with ``device=``, ``.to``/``.cuda()``/``.cpu()``,
``Module.cuda()``/``.to("cuda:0")`` keeping the same ``Parameter`` objects, ``edunn.save`` of
``cuda`` tensors and ``edunn.load(map_location=...)`` in each of its forms, the ``edunn.cuda``
functions, seeded random ops on the device, and the errors for mixing devices and for bfloat16
on CUDA.  The CPU stand-in (``EDUNN_GPU_SUITE_ON_CPU=1``) skips what only a real GPU can show.
"""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from _compare import full_name, on_device
from edunn import nn, optim
from edunn.nn import functional as F

pytestmark = pytest.mark.lesson18


def _on(t, gpu) -> bool:
    return on_device(t, gpu)


def _real_gpu(gpu) -> None:
    if gpu == "cpu":
        pytest.skip("needs a real CUDA device (the CPU stand-in cannot show it)")


# ------------------------------------------------------------------------------- creation
CREATION = {
    "tensor": lambda d: edunn.tensor([[1.5, 2.0], [3.0, -4.0]], device=d),
    "tensor_int": lambda d: edunn.tensor([1, 2, 3], device=d),
    "as_tensor": lambda d: edunn.as_tensor(np.arange(6.0).reshape(2, 3), device=d),
    "zeros": lambda d: edunn.zeros(2, 3, device=d),
    "ones_int": lambda d: edunn.ones((4,), dtype=edunn.int32, device=d),
    "full": lambda d: edunn.full((2, 2), 7.5, device=d),
    "empty_shape": lambda d: edunn.empty(3, 0, device=d),
    "arange": lambda d: edunn.arange(1, 10, 2, device=d),
    "arange_float": lambda d: edunn.arange(0.0, 1.0, 0.125, device=d),
    "linspace": lambda d: edunn.linspace(-1, 1, 9, device=d),
    "logspace": lambda d: edunn.logspace(0, 2, 5, device=d),
    "eye": lambda d: edunn.eye(3, 4, device=d),
    "zeros_like": lambda d: edunn.zeros_like(edunn.ones(2, 3, device=d)),
    "ones_like_dtype": lambda d: edunn.ones_like(edunn.ones(2, device=d), dtype=edunn.float64),
    "full_like": lambda d: edunn.full_like(edunn.ones(3, device=d), 2.5),
    "new_zeros": lambda d: edunn.ones(2, device=d).new_zeros(3),
    "new_ones": lambda d: edunn.ones(2, device=d).new_ones((2, 2)),
    "new_full": lambda d: edunn.ones(2, device=d).new_full((3,), -1.0),
    "new_tensor": lambda d: edunn.ones(2, device=d).new_tensor([4.0, 5.0]),
    "half": lambda d: edunn.arange(4.0, device=d, dtype=edunn.float16) / 3,
    "bool": lambda d: edunn.tensor([True, False], device=d),
}


@pytest.mark.parametrize("name", list(CREATION))
def test_creation_with_device_lives_there_and_equals_the_cpu(name, gpu):
    t = CREATION[name](gpu)
    assert _on(t, gpu), f"{name}: created on {t.device}"
    ref = CREATION[name]("cpu")
    assert t.dtype == ref.dtype and tuple(t.shape) == tuple(ref.shape)
    np.testing.assert_allclose(t.cpu().numpy(), ref.numpy(), rtol=1e-6 if ref.dtype != edunn.float16 else 2e-3)


@pytest.mark.parametrize("name", ["empty", "empty_like", "rand_like", "randn_like", "randint_like"])
def test_like_functions_inherit_the_device(name, gpu):
    src = edunn.ones(3, 4, device=gpu)
    fn = getattr(edunn, name)
    t = fn(src, 0, 5) if name == "randint_like" else (fn(3, 4, device=gpu) if name == "empty" else fn(src))
    assert _on(t, gpu) and tuple(t.shape) == (3, 4)


def test_device_objects_and_properties(gpu):
    t = edunn.ones(2, device=edunn.device(gpu))
    assert _on(t, gpu)
    assert t.is_cuda == (gpu != "cpu")
    if gpu != "cpu":
        n = edunn.device(full_name(gpu)).index
        assert t.device == edunn.device("cuda", n) and str(t.device) == f"cuda:{n}"
        assert edunn.ones(2, device=n).device == t.device  # an int means cuda:N
        assert edunn.ones(2, device=f"cuda:{n}").device == t.device


# -------------------------------------------------------------------------- moving tensors
def test_to_cuda_cpu_round_trips(gpu):
    x = edunn.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    moved = [x.to(gpu), x.to(edunn.device(gpu)), x.to(edunn.ones(1, device=gpu)),
             x.to(device=gpu, dtype=edunn.float64), x.to(gpu, edunn.float16, non_blocking=True)]
    if gpu != "cpu":
        n = edunn.device(full_name(gpu)).index
        moved += [x.cuda(n), x.to(f"cuda:{n}")] + ([x.cuda()] if n == edunn.cuda.current_device() else [])
    for y in moved:
        assert _on(y, gpu)
        np.testing.assert_array_equal(y.cpu().numpy().astype(np.float32), x.numpy())
    y = x.to(gpu)
    assert y.to(gpu) is y, "to() the device it is on returns the tensor itself"
    assert y.to(gpu, copy=True) is not y
    back = y.cpu()
    assert back.device.type == "cpu" and np.array_equal(back.numpy(), x.numpy())
    if gpu != "cpu":
        assert back.numpy() is not None and back is not y
        y.add_(1)
        assert x[0, 0].item() == 0.0, "the device copy must not share memory with the host tensor"


def test_gradient_flows_back_through_to(gpu):
    x = edunn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to(gpu)
    assert y.requires_grad and _on(y, gpu)
    assert (y.grad_fn is not None) == (gpu != "cpu"), "a move is recorded; to() its own device is a no-op"
    (y * y).sum().backward()
    assert x.grad.device.type == "cpu", "the gradient of a CPU leaf comes back to the CPU"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    w = edunn.tensor([1.0, -1.0], requires_grad=True, device=gpu)
    (w.cpu() * 3).sum().backward()
    assert _on(w.grad, gpu) and w.grad.tolist() == [3.0, 3.0]


def _model():
    edunn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))


@pytest.mark.parametrize("how", ["cuda", "to_cuda0", "to_device", "to_device_dtype"])
def test_module_to_device_keeps_parameters_and_moves_grads(how, gpu):
    if how in ("cuda", "to_cuda0"):
        _real_gpu(gpu)
    model = _model()
    params = list(model.parameters())
    values = [p.detach().numpy().copy() for p in params]
    model(edunn.randn(5, 4)).sum().backward()
    grads = [p.grad.numpy().copy() for p in params]
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # built before the move
    n = edunn.device(full_name(gpu)).index if gpu != "cpu" else 0
    out = {"cuda": lambda: model.cuda(n), "to_cuda0": lambda: model.to(f"cuda:{n}"),
           "to_device": lambda: model.to(gpu), "to_device_dtype": lambda: model.to(gpu, edunn.float64)}[how]()
    assert out is model
    for p, p0, v, g in zip(model.parameters(), params, values, grads):
        assert p is p0, "Module.to must keep the same Parameter objects"
        assert isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf
        assert _on(p, gpu) and _on(p.grad, gpu), "parameters and their grads move together"
        assert p.grad.dtype == p.dtype
        np.testing.assert_allclose(p.detach().cpu().numpy(), v, rtol=1e-7)
        np.testing.assert_allclose(p.grad.cpu().numpy(), g, rtol=1e-7)
    for name, b in model.named_buffers():
        assert _on(b, gpu), f"buffer {name} on {b.device}"
    assert model[1].num_batches_tracked.dtype == edunn.int64, "integer buffers keep their dtype"
    opt.step()  # the optimizer holds the moved parameters
    assert all(_on(opt.state[p]["momentum_buffer"], gpu) for p in model.parameters())
    y = model(edunn.randn(5, 4, device=gpu, dtype=model[0].weight.dtype))
    assert _on(y, gpu)
    model.cpu()
    assert all(p.device.type == "cpu" and p.grad.device.type == "cpu" for p in params)


# -------------------------------------------------------------------------- save and load
def _map_locations(gpu):
    src = str(edunn.ones(1, device=gpu).device)
    return {
        "none": (None, gpu),
        "str_cpu": ("cpu", "cpu"),
        "str_target": (gpu, gpu),
        "device_cpu": (edunn.device("cpu"), "cpu"),
        "device_target": (edunn.device(gpu), gpu),
        "dict_to_cpu": ({src: "cpu"}, "cpu"),
        "dict_other": ({"cuda:7": "cpu"}, gpu),  # a key that does not apply leaves the location
        "callable_cpu": (lambda t, loc: t.cpu(), "cpu"),
        "callable_target": (lambda t, loc: t.to(gpu), gpu),
        "callable_none": (lambda t, loc: None, gpu),
    }


@pytest.mark.parametrize("kind", ["none", "str_cpu", "str_target", "device_cpu", "device_target", "dict_to_cpu",
                                  "dict_other", "callable_cpu", "callable_target", "callable_none"])
def test_save_device_tensors_and_load_with_map_location(kind, gpu, tmp_path):
    seen = []
    map_location, where = _map_locations(gpu)[kind]
    if kind.startswith("callable"):
        inner = map_location
        map_location = lambda t, loc: seen.append(loc) or inner(t, loc)  # noqa: E731
    model = _model().to(gpu)
    ckpt = {"model": model.state_dict(), "step": 3, "x": edunn.arange(5.0, device=gpu).half(),
            "nested": [edunn.tensor([1, 2], device=gpu), {"name": "run"}]}
    path = tmp_path / "ckpt.safetensors"
    edunn.save(ckpt, path)
    loaded = edunn.load(path, map_location=map_location)
    assert loaded["step"] == 3 and loaded["nested"][1] == {"name": "run"}
    tensors = list(loaded["model"].values()) + [loaded["x"], loaded["nested"][0]]
    for t in tensors:
        assert _on(t, where), f"map_location={kind}: tensor on {t.device}, expected {where}"
    for (k, a), b in zip(model.state_dict().items(), loaded["model"].values()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy(), err_msg=k)
    assert loaded["x"].dtype == edunn.float16
    if kind.startswith("callable"):
        assert seen and set(seen) == {str(edunn.ones(1, device=gpu).device)}, "the callable gets the saved location"
    fresh = _model().to(where)
    fresh.load_state_dict(loaded["model"])  # and a model on that device takes it


def test_loading_a_cpu_checkpoint_onto_the_device(gpu, tmp_path):
    model = _model()
    path = tmp_path / "cpu.safetensors"
    edunn.save(model.state_dict(), path)
    sd = edunn.load(path, map_location=gpu)
    assert all(_on(t, gpu) for t in sd.values())
    target = _model().to(gpu)
    target.load_state_dict(edunn.load(path))  # CPU tensors copied into device parameters
    assert all(_on(p, gpu) for p in target.parameters())
    for a, b in zip(model.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().cpu().numpy())


# ------------------------------------------------------------------------------ edunn.cuda
def test_cuda_queries(gpu):
    if gpu == "cpu":  # without a GPU: the answers and errors of a machine without CUDA
        assert edunn.cuda.is_available() is False and edunn.cuda.device_count() == 0
        edunn.cuda.manual_seed_all(0)  # seeding "everything" works on a laptop
        edunn.cuda.manual_seed(0)
        for fn in (edunn.cuda.synchronize, edunn.cuda.current_device, edunn.cuda.memory_allocated,
                   edunn.cuda.get_device_name):
            with pytest.raises(RuntimeError, match="CUDA is not available"):
                fn()
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            edunn.zeros(1, device="cuda")
        return
    assert edunn.cuda.is_available() is True
    n = edunn.cuda.device_count()
    assert isinstance(n, int) and n >= 1
    assert edunn.cuda.current_device() == 0
    edunn.cuda.set_device(0)
    name = edunn.cuda.get_device_name()
    assert isinstance(name, str) and name and name == edunn.cuda.get_device_name(0)
    edunn.cuda.synchronize()
    edunn.cuda.synchronize(0)
    edunn.cuda.synchronize("cuda:0")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        edunn.zeros(1, device=f"cuda:{n}")
    with pytest.raises(ValueError, match="cuda"):
        edunn.cuda.memory_allocated("cpu")


def test_cuda_memory_rises_and_falls(gpu):
    _real_gpu(gpu)
    dev = full_name(gpu)
    n = edunn.device(dev).index
    edunn.cuda.synchronize(dev)
    base = edunn.cuda.memory_allocated(dev)
    t = edunn.empty(16, 1024, 1024, device=gpu)  # 64 MiB of float32
    grown = edunn.cuda.memory_allocated(dev)
    assert grown - base >= 64 * 2 ** 20, f"allocated grew by {grown - base} bytes for a 64 MiB tensor"
    assert edunn.cuda.memory_reserved(dev) >= grown
    assert edunn.cuda.memory_allocated(n) == grown == edunn.cuda.memory_allocated(edunn.device(dev))
    del t
    after = edunn.cuda.memory_allocated(dev)
    assert after <= base + 2 ** 20, "freeing the tensor must give its bytes back to the pool"
    reserved = edunn.cuda.memory_reserved(dev)
    with edunn.cuda.device(n):
        edunn.cuda.empty_cache()
    assert edunn.cuda.memory_reserved(dev) <= reserved - 64 * 2 ** 20 + 2 ** 20


# ------------------------------------------------------------------------------ random ops
RANDOM = {
    "rand": lambda d: edunn.rand(50, 4, device=d),
    "randn": lambda d: edunn.randn(50, 4, device=d, dtype=edunn.float64),
    "randint": lambda d: edunn.randint(3, 10, (200,), device=d),
    "randperm": lambda d: edunn.randperm(100, device=d),
    "bernoulli": lambda d: edunn.bernoulli(edunn.full((400,), 0.3, device=d)),
    "multinomial": lambda d: edunn.multinomial(edunn.tensor([0.1, 0.0, 0.6, 0.3], device=d), 200, replacement=True),
    "multinomial_no_replacement": lambda d: edunn.multinomial(edunn.tensor([[1.0, 2.0, 3.0, 4.0]] * 3, device=d), 4),
    "normal_": lambda d: edunn.empty(300, device=d).normal_(2.0, 0.5),
    "normal_fn": lambda d: edunn.normal(edunn.zeros(100, device=d), edunn.full((100,), 3.0, device=d)),
    "uniform_": lambda d: edunn.empty(300, device=d).uniform_(-1, 4),
}


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_ops_are_seeded_reproducibly_on_the_device(name, gpu):
    draws = []
    for seed in (1, 1, 2):
        edunn.manual_seed(seed)
        draws.append(RANDOM[name](gpu))
    for t in draws:
        assert _on(t, gpu), f"{name} drew on {t.device}"
    a, b, c = (t.cpu().numpy() for t in draws)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c), f"{name}: seeds 1 and 2 gave the same numbers"
    # what each op promises, checked on the device's numbers
    if name == "randint":
        assert a.dtype == np.int64 and a.min() >= 3 and a.max() <= 9
    elif name == "randperm":
        assert a.dtype == np.int64 and sorted(a.tolist()) == list(range(100))
    elif name == "bernoulli":
        assert set(np.unique(a)) <= {0.0, 1.0} and 0.2 < a.mean() < 0.4
    elif name == "multinomial":
        assert 1 not in a and a.dtype == np.int64
    elif name == "multinomial_no_replacement":
        assert all(sorted(row) == [0, 1, 2, 3] for row in a.tolist())
    elif name == "rand":
        assert a.min() >= 0 and a.max() < 1
    elif name == "uniform_":
        assert a.min() >= -1 and a.max() < 4
    elif name == "normal_":
        assert abs(a.mean() - 2.0) < 0.15 and abs(a.std() - 0.5) < 0.1


def test_device_generators_are_separate_from_the_cpu(gpu):
    _real_gpu(gpu)
    edunn.manual_seed(5)
    first = edunn.rand(10, device=gpu).cpu().numpy()
    edunn.manual_seed(5)
    edunn.rand(1000)  # draws on the CPU do not move the device's stream
    np.testing.assert_array_equal(edunn.rand(10, device=gpu).cpu().numpy(), first)
    edunn.cuda.manual_seed_all(5)
    np.testing.assert_array_equal(edunn.rand(10, device=gpu).cpu().numpy(), first)
    with edunn.cuda.device(edunn.device(full_name(gpu)).index):  # seeds the current device
        edunn.cuda.manual_seed(5)
    np.testing.assert_array_equal(edunn.rand(10, device=gpu).cpu().numpy(), first)
    g = edunn.Generator(device=gpu).manual_seed(5)
    h = edunn.Generator(device=gpu).manual_seed(5)
    np.testing.assert_array_equal(edunn.randn(7, device=gpu, generator=g).cpu().numpy(),
                                  edunn.randn(7, device=gpu, generator=h).cpu().numpy())
    with pytest.raises(RuntimeError, match="generator"):
        edunn.randn(3, device=gpu, generator=edunn.Generator())


# ------------------------------------------------------------------------------------ errors
DEVICE_MIX = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub_": lambda a, b: a.sub_(b),
    "matmul": lambda a, b: a @ b,
    "eq": lambda a, b: a == b,
    "maximum": lambda a, b: edunn.maximum(a, b),
    "cat": lambda a, b: edunn.cat([a, b]),
    "stack": lambda a, b: edunn.stack([a, b]),
    "where": lambda a, b: edunn.where(a > 0, a, b),
    "linear": lambda a, b: F.linear(a, b),
    "mse_loss": lambda a, b: F.mse_loss(a, b),
}


@pytest.mark.parametrize("cpu_first", [False, True], ids=["cuda_op_cpu", "cpu_op_cuda"])
@pytest.mark.parametrize("name", list(DEVICE_MIX))
def test_an_op_mixing_devices_names_both(name, cpu_first, gpu):
    _real_gpu(gpu)
    a, b = edunn.ones(3, 3, device=gpu), edunn.ones(3, 3)
    if cpu_first:
        a, b = b, a
    with pytest.raises(RuntimeError) as info:
        DEVICE_MIX[name](a, b)
    msg = str(info.value)
    assert "Expected all tensors to be on the same device" in msg, f"{name}: unclear error {msg!r}"
    assert full_name(gpu) in msg and "cpu" in msg, f"{name}: the error must name both devices: {msg!r}"


def test_a_zero_dim_cpu_tensor_combines_with_a_device_tensor(gpu):
    """PyTorch lets a 0-dim CPU tensor act as a scalar in an op with a CUDA tensor."""
    _real_gpu(gpu)
    x = edunn.arange(3.0, device=gpu)
    y = x * edunn.tensor(2.0)
    assert _on(y, gpu) and y.tolist() == [0.0, 2.0, 4.0]


def test_copy_between_devices_is_allowed(gpu):
    dst = edunn.zeros(3, device=gpu)
    dst.copy_(edunn.tensor([1.0, 2.0, 3.0]))
    assert _on(dst, gpu) and dst.tolist() == [1.0, 2.0, 3.0]
    host = edunn.zeros(3)
    host.copy_(dst * 2)
    assert host.tolist() == [2.0, 4.0, 6.0]


def test_bfloat16_on_cuda_raises_a_clear_type_error(gpu):
    _real_gpu(gpu)
    for make in (lambda: edunn.zeros(3, dtype=edunn.bfloat16, device=gpu),
                 lambda: edunn.ones(3, dtype=edunn.bfloat16).to(gpu),
                 lambda: edunn.ones(3, dtype=edunn.bfloat16).cuda(),
                 lambda: edunn.ones(3, device=gpu).to(edunn.bfloat16),
                 lambda: edunn.ones(3, device=gpu).bfloat16(),
                 lambda: nn.Linear(2, 2).bfloat16().to(gpu)):
        with pytest.raises(TypeError, match="bfloat16.*CUDA|CUDA.*bfloat16"):
            make()
    # float16 is fine on the device
    h = edunn.ones(3, device=gpu).half()
    assert h.dtype == edunn.float16 and _on(h, gpu) and (h * 2).tolist() == [2.0, 2.0, 2.0]


def test_scalar_reads_come_back_to_the_host(gpu):
    x = edunn.arange(6.0, device=gpu).reshape(2, 3)
    assert x.sum().item() == 15.0 and isinstance(x.sum().item(), float)
    assert float(x[1, 2]) == 5.0 and int(x[0, 1]) == 1 and bool(x[0, 1])
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert type(x.cpu().numpy()).__module__ == "numpy"
    assert repr(x).startswith("tensor(")
    if gpu != "cpu":
        assert f"device='{full_name(gpu)}'" in repr(x)
