"""edunn.amp against torch.amp: autocast's per-op dtypes and values on the CPU (a small model's
forward and backward included), its state functions and errors, custom_fwd/custom_bwd, and
GradScaler("cpu") skipping exactly the steps torch's skips in a loop with planted inf gradients."""
import copy
import inspect
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.amp import GradScaler, _policy, autocast, custom_bwd, custom_fwd, is_autocast_available
from opcheck import bfloat16_refused_on_cuda, needs_torch, torch

if torch is not None:
    import torch.nn.functional as TF


def _names(lib, dtype):
    return str(dtype).replace(lib.__name__ + ".", "")


def _params(fn):
    return [(p.name, p.kind, p.default if not hasattr(p.default, "is_floating_point") else str(p.default))
            for p in inspect.signature(fn).parameters.values()]


@needs_torch
@pytest.mark.parametrize("name", ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"])
def test_signatures(name):
    assert _params(getattr(edunn.amp, name)) == _params(getattr(torch.amp, name))
    assert sorted(edunn.amp.__all__) == sorted(torch.amp.__all__)


@needs_torch
def test_top_level_names():
    assert edunn.autocast is autocast
    for name in dir(torch):
        if "autocast" in name and not name.startswith("_"):
            assert hasattr(edunn, name), name


def test_autocast_off_costs_one_flag():
    assert _policy.active is False
    with autocast("cpu"):
        assert _policy.active is True
        with autocast("cpu", enabled=False):
            assert _policy.active is False
        assert _policy.active is True
    assert _policy.active is False


# ----------------------------------------------------------------------------------- op dtypes
def _ops(L, F_):
    g = np.random.default_rng(0)

    def T(*shape, dtype=None):
        return L.tensor(g.standard_normal(shape).astype("float32"), dtype=dtype)

    x, v, b3 = T(4, 4), T(4), T(2, 4, 4)
    c1, w1, c2, w2, c3, w3 = T(1, 2, 8), T(3, 2, 3), T(1, 2, 6, 6), T(3, 2, 3, 3), T(1, 2, 4, 4, 4), T(3, 2, 2, 2, 2)
    y = L.tensor([0, 1, 2, 3])
    eye = L.eye(4) * 4
    return {
        "matmul": lambda: x @ x, "mm": lambda: L.mm(x, x), "bmm": lambda: L.bmm(b3, b3),
        "mv": lambda: L.mv(x, v), "dot": lambda: L.dot(v, v), "addmm": lambda: L.addmm(x, x, x),
        "addmv": lambda: L.addmv(v, x, v), "baddbmm": lambda: L.baddbmm(b3, b3, b3),
        "addbmm": lambda: L.addbmm(x, b3, b3), "einsum": lambda: L.einsum("ij,jk->ik", x, x),
        "matmul-f64": lambda: x.double() @ x.double(), "matmul-f16": lambda: x.half() @ x.half(),
        "matmul-mixed": lambda: x.half() @ x, "linear": lambda: F_.linear(x, x, v),
        "linear-no-bias": lambda: F_.linear(x, x), "conv1d": lambda: F_.conv1d(c1, w1, T(3)),
        "conv2d": lambda: F_.conv2d(c2, w2, padding=1), "conv3d": lambda: F_.conv3d(c3, w3),
        "conv_transpose1d": lambda: F_.conv_transpose1d(c1, w1.transpose(0, 1)),
        "conv_transpose2d": lambda: F_.conv_transpose2d(c2, w2.transpose(0, 1), stride=2),
        "trace": lambda: L.trace(x), "inverse": lambda: L.inverse(x + eye),
        "trace-bf16": lambda: L.trace(x.bfloat16()), "inverse-bf16": lambda: L.inverse((x + eye).bfloat16()),
        "cross_entropy": lambda: F_.cross_entropy(x, y), "cross_entropy-bf16": lambda: F_.cross_entropy(x.bfloat16(), y),
        "nll_loss-bf16": lambda: F_.nll_loss(F_.log_softmax(x, 1).bfloat16(), y),
        "mse_loss-bf16": lambda: F_.mse_loss(x.bfloat16(), x), "l1_loss-bf16": lambda: F_.l1_loss(x.bfloat16(), x),
        "smooth_l1_loss-bf16": lambda: F_.smooth_l1_loss(x.bfloat16(), x),
        "huber_loss-bf16": lambda: F_.huber_loss(x.bfloat16(), x),
        "kl_div-bf16": lambda: F_.kl_div(x.bfloat16(), x.softmax(1), reduction="batchmean"),
        "bce_logits-bf16": lambda: F_.binary_cross_entropy_with_logits(x.bfloat16(), x.sigmoid()),
        "bce-bf16": lambda: F_.binary_cross_entropy(x.sigmoid().bfloat16(), x.sigmoid()),
        "relu-bf16": lambda: F_.relu(x.bfloat16()), "add-mixed": lambda: x.bfloat16() + x,
        "tensordot": lambda: L.tensordot(b3, x, ([2], [0])), "tensordot-full": lambda: L.tensordot(x, x),
        "inner": lambda: L.inner(b3, x), "inner-1d": lambda: L.inner(v, v), "outer": lambda: L.outer(v, v),
        "multi_dot": lambda: L.linalg.multi_dot([x, x, x]), "matrix_power": lambda: L.matrix_power(x, 3),
        "kron": lambda: L.kron(x, x), "det": lambda: L.det(x + eye), "vdot": lambda: L.vdot(v, v),
        "sdpa": lambda: F_.scaled_dot_product_attention(b3, b3, b3),
    }


@needs_torch
@pytest.mark.parametrize("name", list(_ops(edunn, F)))
def test_op_dtypes_and_values_under_cpu_autocast(name):
    with autocast("cpu"):
        ours = _ops(edunn, F)[name]()
    with torch.autocast("cpu"):
        theirs = _ops(torch, TF)[name]()
    assert _names(edunn, ours.dtype) == _names(torch, theirs.dtype)
    ref = theirs.float().detach().numpy()
    np.testing.assert_allclose(ours.float().detach().numpy(), ref, rtol=3e-2, atol=3e-2 * (1 + np.abs(ref).max()))


@needs_torch
def test_float16_autocast_dtype_on_cpu():
    x = np.random.default_rng(1).standard_normal((3, 3)).astype("float32")
    with autocast("cpu", dtype=edunn.float16):
        ours = edunn.tensor(x) @ edunn.tensor(x)
    with torch.autocast("cpu", dtype=torch.float16):
        theirs = torch.tensor(x) @ torch.tensor(x)
    assert ours.dtype == edunn.float16 and theirs.dtype == torch.float16
    np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(), rtol=1e-3, atol=1e-3)


@needs_torch
def test_small_model_forward_and_backward_like_torch():
    """An MLP and a CNN layer under autocast("cpu"): each op's output dtype as torch's, the loss
    close, and the gradients arriving in the parameters' dtype (float32), close to torch's."""
    g = np.random.default_rng(2)
    arrays = {"x": g.standard_normal((8, 1, 6, 6)).astype("float32"),
              "cw": g.standard_normal((4, 1, 3, 3)).astype("float32") * 0.3,
              "cb": g.standard_normal(4).astype("float32") * 0.1,
              "w1": g.standard_normal((16, 36)).astype("float32") * 0.1,
              "b1": np.zeros(16, "float32"), "w2": g.standard_normal((3, 16)).astype("float32") * 0.3,
              "b2": np.zeros(3, "float32")}
    target = g.integers(0, 3, 8)

    def run(L, F_):
        p = {k: L.tensor(v, requires_grad=k != "x") for k, v in arrays.items()}
        with L.autocast("cpu"):
            h0 = F_.conv2d(p["x"], p["cw"], p["cb"], padding=1)
            h1 = F_.relu(F_.max_pool2d(h0, 2)).flatten(1)
            h2 = F_.linear(h1, p["w1"], p["b1"])
            h3 = F_.linear(F_.gelu(h2), p["w2"], p["b2"])
            loss = F_.cross_entropy(h3, L.tensor(target))
        loss.backward()
        return [str(t.dtype).split(".")[-1] for t in (h0, h1, h2, h3, loss)], loss, p

    dt_e, loss_e, p_e = run(edunn, F)
    dt_t, loss_t, p_t = run(torch, TF)
    assert dt_e == dt_t == ["bfloat16"] * 4 + ["float32"]
    assert abs(loss_e.item() - loss_t.item()) < 2e-2
    for k in ("cw", "cb", "w1", "b1", "w2", "b2"):
        assert p_e[k].grad.dtype == edunn.float32 and p_t[k].grad.dtype == torch.float32
        ref = p_t[k].grad.numpy()
        np.testing.assert_allclose(p_e[k].grad.numpy(), ref, rtol=5e-2, atol=5e-2 * np.abs(ref).max() + 1e-6)


def test_backward_outside_autocast_gives_float32_grads(device):
    lin = edunn.nn.Linear(5, 3).to(device)
    x = edunn.randn(4, 5, device=device, requires_grad=True)
    with autocast("cpu"):
        out = lin(x)
    out.float().sum().backward()
    assert lin.weight.grad.dtype == x.grad.dtype == edunn.float32


def test_parameter_cast_is_cached_within_a_region():
    w = edunn.nn.Parameter(edunn.randn(3, 3))
    x = edunn.randn(2, 3)
    with autocast("cpu"):
        F.linear(x, w)
        first = _policy._cache[id(w)][1]
        F.linear(x, w)
        assert _policy._cache[id(w)][1] is first
        with autocast("cpu", cache_enabled=False):
            assert _policy._cast(w, "cpu", edunn.bfloat16, True) is not first   # a fresh cast
    assert not _policy._cache   # emptied on leaving the outermost region
    with autocast("cpu", cache_enabled=False):
        F.linear(x, w)
        assert not _policy._cache


# ------------------------------------------------------------------------- state and errors
@needs_torch
def test_state_functions_like_torch():
    for lib in (edunn, torch):
        assert not lib.is_autocast_enabled("cpu") and not lib.is_autocast_enabled()
        assert _names(lib, lib.get_autocast_dtype("cpu")) == "bfloat16"
        assert _names(lib, lib.get_autocast_dtype("cuda")) == "float16"
        with pytest.warns(DeprecationWarning, match=r"get_autocast_cpu_dtype\(\) is deprecated"):
            assert _names(lib, lib.get_autocast_cpu_dtype()) == "bfloat16"
        with pytest.warns(DeprecationWarning, match=r"get_autocast_dtype\('cuda'\) instead"):
            assert _names(lib, lib.get_autocast_gpu_dtype()) == "float16"
        with lib.autocast("cpu", dtype=lib.float16):
            with pytest.warns(DeprecationWarning):
                assert lib.is_autocast_enabled("cpu") and lib.is_autocast_cpu_enabled()
            assert lib.get_autocast_dtype("cpu") == lib.float16
            with lib.autocast("cpu", enabled=False):
                assert not lib.is_autocast_enabled("cpu")
            assert lib.is_autocast_enabled("cpu")
        assert not lib.is_autocast_enabled("cpu") and lib.get_autocast_dtype("cpu") == lib.bfloat16
        lib.set_autocast_enabled(True)             # legacy form: CUDA
        assert lib.is_autocast_enabled() and lib.is_autocast_enabled("cuda")
        lib.set_autocast_enabled("cuda", False)
        assert not lib.is_autocast_enabled("cuda")
        with pytest.warns(DeprecationWarning, match=r"set_autocast_dtype\('cpu', dtype\) instead"):
            lib.set_autocast_cpu_dtype(lib.float16)
        assert lib.get_autocast_dtype("cpu") == lib.float16
        lib.set_autocast_dtype("cpu", lib.bfloat16)
        assert lib.is_autocast_cache_enabled()
        assert lib.autocast_increment_nesting() == 1 and lib.autocast_decrement_nesting() == 0
        lib.clear_autocast_cache()


@needs_torch
def test_errors_and_warnings_like_torch():
    for lib in (edunn, torch):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`, got: `<class 'int'>`"):
            lib.autocast(1)
        with pytest.raises(TypeError, match="requires a callable, but got int"):
            lib.autocast("cpu")(3)
        with pytest.raises(TypeError):
            lib.set_autocast_enabled("cpu", "yes")
        with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported. Disabling"):
            ctx = lib.autocast("cpu", dtype=lib.float32)
        with ctx:
            assert not lib.is_autocast_enabled("cpu")
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_fwd(device_type=None)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        autocast("xpu")
    assert is_autocast_available("cpu") and is_autocast_available("cuda") and not is_autocast_available("meta")


@pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the no-GPU fallback")
def test_cuda_autocast_without_gpu_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="CUDA is not available or torch_xla is imported. Disabling autocast."):
        ctx = autocast("cuda")
    with ctx:
        assert not edunn.is_autocast_enabled("cuda")
        assert (edunn.randn(2, 2) @ edunn.randn(2, 2)).dtype == edunn.float32
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available.  Disabling."):
        scaler = GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}


def test_autocast_as_decorator_and_exception_safety():
    @autocast("cpu")
    def forward(a):
        return a @ a, edunn.is_autocast_enabled("cpu")

    out, on = forward(edunn.randn(2, 2))
    assert out.dtype == edunn.bfloat16 and on and not edunn.is_autocast_enabled("cpu")
    with pytest.raises(KeyError):
        with autocast("cpu"):
            raise KeyError("x")
    assert not edunn.is_autocast_enabled("cpu") and _policy._nesting == 0


# ---------------------------------------------------------------------- custom_fwd / custom_bwd
class _Square(edunn.autograd.Function):
    @staticmethod
    @custom_fwd(device_type="cpu", cast_inputs=edunn.float32)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.seen = (x.dtype, edunn.is_autocast_enabled("cpu"))
        return x * x

    @staticmethod
    @custom_bwd(device_type="cpu")
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        ctx.bwd_autocast = edunn.is_autocast_enabled("cpu")
        return 2 * x * grad


class _Plain(edunn.autograd.Function):
    @staticmethod
    @custom_fwd(device_type="cpu")
    def forward(ctx, a):
        return a @ a

    @staticmethod
    @custom_bwd(device_type="cpu")
    def backward(ctx, grad):
        return grad, edunn.is_autocast_enabled("cpu")


def test_custom_fwd_casts_and_disables_autocast():
    x = edunn.randn(3, requires_grad=True)
    with autocast("cpu"):
        y = _Square.apply(x.bfloat16())
    assert y.grad_fn.seen == (edunn.float32, False) and y.dtype == edunn.float32
    y.sum().backward()
    assert y.grad_fn.bwd_autocast is False
    edunn.testing.assert_close(x.grad, 2 * x.detach().bfloat16().float(), rtol=1e-2, atol=1e-2)
    y = _Square.apply(x.bfloat16())           # outside autocast: no cast
    assert y.grad_fn.seen == (edunn.bfloat16, False)


def test_custom_fwd_without_cast_keeps_autocast_state():
    a = edunn.randn(2, 2)
    with autocast("cpu"):
        assert _Plain.apply(a).dtype == edunn.bfloat16
    assert _Plain.apply(a).dtype == edunn.float32


# ---------------------------------------------------------------------------------- GradScaler
def _training_run(lib, planted, steps=9, **scaler_kwargs):
    """SGD on a linear model with GradScaler("cpu"); at the steps in ``planted`` one gradient
    element is made inf (or nan).  Returns (per-step scales, stepped flags, final weights, state)."""
    g = np.random.default_rng(3)
    w0 = g.standard_normal((2, 3)).astype("float32")
    xs = g.standard_normal((steps, 4, 3)).astype("float32")
    model = lib.nn.Linear(3, 2, bias=False)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(w0))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", **scaler_kwargs)
    scales, stepped = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = (model(lib.tensor(xs[i])) ** 2).mean()
        scaler.scale(loss).backward()
        if i in planted:
            with lib.no_grad():
                model.weight.grad[0, 1] = planted[i]
        before = model.weight.detach().clone()
        scaler.step(opt)
        scaler.update()
        stepped.append(not lib.equal(before, model.weight.detach()))
        scales.append(scaler.get_scale())
    return scales, stepped, model.weight.detach().numpy().copy(), scaler.state_dict()


@needs_torch
@pytest.mark.parametrize("kwargs,planted", [
    ({"init_scale": 2.0 ** 10, "growth_interval": 3}, {2: float("inf"), 6: float("nan")}),
    ({"init_scale": 1024.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 2},
     {0: float("inf"), 1: -float("inf"), 5: float("inf")}),
    ({}, {4: float("nan")}),
], ids=["inf-and-nan", "custom-factors", "defaults"])
def test_grad_scaler_skips_the_same_steps_as_torch(kwargs, planted):
    ours = _training_run(edunn, planted, **kwargs)
    theirs = _training_run(torch, planted, **kwargs)
    assert ours[0] == theirs[0]          # the scale after every update
    assert ours[1] == theirs[1]          # which steps ran
    assert not any(ours[1][i] for i in planted) and all(ours[1][i] for i in range(9) if i not in planted)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)
    assert ours[3] == theirs[3]


@needs_torch
def test_grad_scaler_unscale_then_clip_like_torch():
    results = []
    for lib in (edunn, torch):
        lib.manual_seed(0)
        p = lib.nn.Parameter(lib.tensor([[1.0, -2.0], [3.0, 0.5]]))
        opt = lib.optim.SGD([p], lr=0.5)
        scaler = lib.amp.GradScaler("cpu", init_scale=256.0)
        scaler.scale((p ** 3).sum()).backward()
        scaler.unscale_(opt)
        grad_after_unscale = p.grad.clone()
        lib.nn.utils.clip_grad_norm_([p], 1.0)
        scaler.step(opt)
        scaler.update()
        results.append((grad_after_unscale.tolist(), p.detach().tolist(), scaler.get_scale()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5)
    assert results[0][2] == results[1][2]


def test_grad_scaler_scale_and_state():
    scaler = GradScaler("cpu", init_scale=8.0)
    assert scaler.get_scale() == 8.0 and scaler.is_enabled()
    t = edunn.tensor([1.0, 2.0])
    assert scaler.scale(t).tolist() == [8.0, 16.0]
    a, (b, c) = scaler.scale([t, (t, t * 2)])
    assert a.tolist() == b.tolist() == [8.0, 16.0] and c.tolist() == [16.0, 32.0]
    assert list(x.tolist() for x in scaler.scale(iter([t]))) == [[8.0, 16.0]]
    with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
        scaler.scale([t, 3])
    sd = scaler.state_dict()
    assert sd == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                  "_growth_tracker": 0}
    other = GradScaler("cpu")
    other.load_state_dict(dict(sd, scale=4.0, _growth_tracker=7))
    assert other.get_scale() == 4.0 and other._get_growth_tracker() == 7
    other.scale(t)
    other.load_state_dict(sd)
    assert other.get_scale() == 8.0
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        other.load_state_dict({})
    clone = copy.deepcopy(scaler)
    assert clone.get_scale() == 8.0 and clone._scale is None
    scaler.update(2.0)
    assert scaler.get_scale() == 2.0
    scaler.update(edunn.tensor([0.5]))
    assert scaler.get_scale() == 0.5
    with pytest.raises(AssertionError, match="new_scale should be a float"):
        scaler.update(edunn.tensor([1.0, 2.0]))
    for setter, getter, value in (("set_growth_factor", "get_growth_factor", 3.0),
                                  ("set_backoff_factor", "get_backoff_factor", 0.1),
                                  ("set_growth_interval", "get_growth_interval", 5)):
        getattr(scaler, setter)(value)
        assert getattr(scaler, getter)() == value


def test_grad_scaler_misuse_errors():
    p = edunn.nn.Parameter(edunn.ones(2))
    opt = edunn.optim.SGD([p], lr=0.1)
    scaler = GradScaler("cpu")
    with pytest.raises(AssertionError, match="Attempted unscale_ but _scale is None"):
        scaler.unscale_(opt)
    with pytest.raises(AssertionError, match="Attempted update but _scale is None"):
        scaler.update()
    scaler.scale(p.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update\\(\\)"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="backoff factor must be < 1.0"):
        GradScaler("cpu", backoff_factor=1.0)
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        fresh = GradScaler("cpu")
        fresh.scale(p.sum())
        fresh.update()
    half = edunn.nn.Parameter(edunn.ones(2, dtype=edunn.float16))
    half.grad = edunn.ones(2, dtype=edunn.float16)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        s = GradScaler("cpu")
        s.scale(p.sum())
        s.unscale_(edunn.optim.SGD([half], lr=0.1))


def test_disabled_grad_scaler_passes_through():
    p = edunn.nn.Parameter(edunn.ones(2))
    opt = edunn.optim.SGD([p], lr=0.5)
    scaler = GradScaler("cpu", enabled=False)
    loss = p.sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert p.tolist() == [0.5, 0.5] and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    scaler.load_state_dict({})   # a disabled scaler ignores it, as PyTorch's


def test_grad_scaler_bfloat16_and_float16_grads_on_device(device):
    """The inf check and unscale work in the gradient's own dtype (float16 only through step's
    check; unscale_ refuses float16, as PyTorch)."""
    if bfloat16_refused_on_cuda(device, "bfloat16"):
        return
    w = edunn.nn.Parameter(edunn.ones(3, dtype=edunn.bfloat16, device=device))
    w.grad = edunn.tensor([2.0, float("inf"), 4.0], dtype=edunn.bfloat16, device=device)
    opt = edunn.optim.SGD([w], lr=1.0)
    scaler = GradScaler("cpu" if device == "cpu" else "cuda", init_scale=2.0)
    scaler.scale(w.sum())
    assert scaler.step(opt) is None            # skipped
    assert w.tolist() == [1.0, 1.0, 1.0] and w.grad.tolist()[0] == 1.0
    scaler.update()
    assert scaler.get_scale() == 1.0


@pytest.mark.gpu
def test_cuda_autocast_and_grad_scaler():
    x = edunn.randn(4, 4, device="cuda")
    lin = edunn.nn.Linear(4, 3).cuda()
    with autocast("cuda"):
        h = lin(x)
        s = F.softmax(h, dim=1)
        loss = F.cross_entropy(h, edunn.tensor([0, 1, 2, 0], device="cuda"))
    assert h.dtype == edunn.float16 and loss.dtype == edunn.float32 and s.dtype in (edunn.float16, edunn.float32)
    scaler = GradScaler()
    opt = edunn.optim.SGD(lin.parameters(), lr=0.1)
    scaler.scale(loss).backward()
    assert lin.weight.grad.dtype == edunn.float32
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 65536.0 and scaler._scale.device.type == "cuda"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            with autocast("cuda"):
                F.binary_cross_entropy(edunn.rand(3, device="cuda"), edunn.rand(3, device="cuda"))


@needs_torch
@pytest.mark.parametrize("name,args", [
    ("is_autocast_cpu_enabled", ()), ("set_autocast_cpu_enabled", (False,)), ("get_autocast_cpu_dtype", ()),
    ("set_autocast_cpu_dtype", ("bfloat16",)), ("get_autocast_gpu_dtype", ()), ("set_autocast_gpu_dtype", ("float16",)),
    ("is_autocast_ipu_enabled", ()), ("set_autocast_ipu_enabled", (False,)), ("get_autocast_ipu_dtype", ()),
    ("set_autocast_ipu_dtype", ("float16",)), ("is_autocast_xla_enabled", ()), ("set_autocast_xla_enabled", (False,)),
    ("get_autocast_xla_dtype", ()), ("set_autocast_xla_dtype", ("bfloat16",)),
])
def test_legacy_state_functions_warn_like_torch(name, args):
    results = []
    for lib in (edunn, torch):
        call_args = tuple(getattr(lib, a) if isinstance(a, str) else a for a in args)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = getattr(lib, name)(*call_args)
        messages = [str(w.message).split(" (Triggered")[0] for w in caught if w.category is DeprecationWarning]
        results.append((str(value).replace(lib.__name__ + ".", ""), messages))
    assert results[0] == results[1]
