"""A full training step of each benchmark model on the GPU (lessons 05, 09-13 and 18).

For each model of ``benchmarks/workloads.py`` -- the MLP, the CNN, the LSTM and the Transformer
encoder layer -- the benchmark's own ``setup`` builds the same weights and data on the CPU and on
the target, the benchmark's own ``run`` takes one training step (zero_grad, forward, loss,
backward, optimizer step), and the loss, every parameter's gradient and every updated parameter
must agree within float32 tolerance (cuBLAS and OpenBLAS sum in different orders).

A second check runs the step on ``cuda`` with host transfers forbidden: ``cupyx.allow_synchronize
(False)`` where CuPy still offers it, and, always, every explicit way edunn has of bringing device
data to the host (``.item()``, ``.tolist()``, ``.numpy()``, ``.cpu()``, ``float()``/``int()``/
``bool()`` of a tensor, ``backend.to_numpy``, ``cupy.asnumpy``) made to raise.  A training step
must queue its work on the device and return without waiting for it.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import edunn
from edunn import backend

pytestmark = pytest.mark.lesson18

_spec = importlib.util.spec_from_file_location(
    "_gpu_suite_workloads", Path(__file__).resolve().parents[2] / "benchmarks" / "workloads.py")
W = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = W  # dataclasses look their module up there
_spec.loader.exec_module(W)

MODELS = ["mlp_step", "cnn_step", "lstm_step", "transformer_step"]
SEED = 1234


def _parameters(name: str, inputs: tuple) -> list:
    """The trainable tensors of a workload's setup, in a fixed order."""
    if name == "cnn_step":
        return list(inputs[2])
    return list(inputs[0].parameters())


def _loss(name: str, inputs: tuple):
    """The loss the workload's step minimises, for the weights as they are now."""
    F = edunn.nn.functional
    if name == "mlp_step":
        model, x, y, _ = inputs
        return F.cross_entropy(model(x), y)
    if name == "cnn_step":
        x, y, (w1, b1, w2, b2, w3, b3), _ = inputs
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        return F.cross_entropy(F.linear(h.flatten(1), w3, b3), y)
    if name == "lstm_step":
        lstm, x, _ = inputs
        return lstm(x)[0].square().mean()
    layer, x, _ = inputs
    return layer(x).square().mean()


def _setup(name: str, device: str, monkeypatch) -> tuple:
    # the same batch on every device, so both runs see the same numbers
    monkeypatch.setitem(W.CNN_BATCH, "cuda", W.CNN_BATCH["cpu"])
    edunn.manual_seed(0)
    return W.REGISTRY[name].setup(edunn, np.random.default_rng(SEED), device=device)


def _np(t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy(), dtype=np.float64)


def _lr(inputs: tuple) -> float:
    return float(inputs[-1].param_groups[0]["lr"])


@pytest.mark.parametrize("name", MODELS)
def test_training_step_on_the_device_equals_the_cpu(name, gpu, monkeypatch):
    runs = {}
    for dev in ("cpu", gpu):
        inputs = _setup(name, dev, monkeypatch)
        params = _parameters(name, inputs)
        before = [_np(p) for p in params]
        with edunn.no_grad():
            loss = _loss(name, inputs)
        assert loss.device.type == edunn.device(dev).type
        returned = W.REGISTRY[name].run(edunn, *inputs)  # the benchmark's own training step
        for p in params:
            assert p.device.type == edunn.device(dev).type and p.grad is not None
            assert p.grad.device.type == edunn.device(dev).type, "gradients stay on the device"
        runs[dev] = dict(loss=float(loss), before=before, grads=[_np(p.grad) for p in params],
                         after=[_np(p) for p in params], returned=_np(returned), lr=_lr(inputs),
                         names=[tuple(p.shape) for p in params])
    d, c = runs[gpu], runs["cpu"]
    assert d["names"] == c["names"]
    for a, b in zip(d["before"], c["before"]):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: the two runs must start from the same weights")
    np.testing.assert_allclose(d["loss"], c["loss"], rtol=2e-5, err_msg=f"{name}: loss")
    for i, (gd, gc) in enumerate(zip(d["grads"], c["grads"])):
        scale = np.abs(gc).max() + 1e-30
        np.testing.assert_allclose(gd, gc, rtol=1e-3, atol=1e-4 * scale, err_msg=f"{name}: grad of param {i}")
    np.testing.assert_allclose(d["returned"], c["returned"], rtol=1e-3,
                               atol=1e-4 * (np.abs(c["returned"]).max() + 1e-30), err_msg=f"{name}: returned")
    lr = c["lr"]
    for i, (pd, pc, p0, gc) in enumerate(zip(d["after"], c["after"], c["before"], c["grads"])):
        assert not np.array_equal(pc, p0) or not gc.any(), f"{name}: param {i} did not move"
        # Adam's first step moves every entry by about lr * sign(grad); where the gradient is at
        # rounding level (a key bias under softmax, say) its sign is noise on either device, so
        # there only the size of the step is checked
        settled = np.abs(gc) > 1e-5 * (np.abs(gc).max() + 1e-30) + 1e-7
        np.testing.assert_allclose(pd[settled], pc[settled], rtol=1e-5, atol=1e-6 + 1e-3 * lr,
                                   err_msg=f"{name}: updated param {i}")
        assert np.all(np.abs(pd - pc)[~settled] <= 2 * lr + 1e-6), f"{name}: param {i}, a step larger than lr"


class _HostTransfer(AssertionError):
    pass


def _forbid_host_transfers(monkeypatch) -> None:
    """Make every explicit device-to-host path of edunn raise (for device data only)."""
    def on_device(x) -> bool:
        data = x._data if isinstance(x, edunn.Tensor) else x
        return backend.is_cupy_array(data)

    def guard(owner, name: str) -> None:
        original = getattr(owner, name)

        def guarded(self, *args, **kwargs):
            if on_device(self):
                raise _HostTransfer(f"a training step called {getattr(owner, '__name__', owner)}.{name} "
                                    f"on device data: that waits for the GPU and copies to the host")
            return original(self, *args, **kwargs)
        monkeypatch.setattr(owner, name, guarded)

    for name in ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__"):
        if hasattr(edunn.Tensor, name):
            guard(edunn.Tensor, name)
    guard(backend, "to_numpy")
    if backend.cupy is not None:
        original_asnumpy = backend.cupy.asnumpy

        def asnumpy(a, *args, **kwargs):
            if backend.is_cupy_array(a):
                raise _HostTransfer("a training step called cupy.asnumpy on device data")
            return original_asnumpy(a, *args, **kwargs)
        monkeypatch.setattr(backend.cupy, "asnumpy", asnumpy)


def _no_sync_context():
    """``cupyx.allow_synchronize(False)`` when this CuPy still has it, else nothing."""
    import contextlib
    try:
        import cupyx  # type: ignore
    except Exception:
        return contextlib.nullcontext(), "cupyx is not importable"
    if not hasattr(cupyx, "allow_synchronize"):
        return contextlib.nullcontext(), "this CuPy has no cupyx.allow_synchronize"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cupyx.allow_synchronize(False), ""


@pytest.mark.parametrize("name", MODELS)
def test_training_step_makes_no_host_transfer(name, gpu, monkeypatch):
    if gpu == "cpu":
        pytest.skip("the CPU stand-in has no host transfers to detect")
    inputs = _setup(name, gpu, monkeypatch)
    W.REGISTRY[name].run(edunn, *inputs)  # a first step outside the check: kernels compile, state appears
    edunn.cuda.synchronize()
    ctx, why_not = _no_sync_context()
    _forbid_host_transfers(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cupyx.allow_synchronize warns that it is experimental
        with ctx:
            returned = W.REGISTRY[name].run(edunn, *inputs)
    monkeypatch.undo()
    edunn.cuda.synchronize()
    assert returned.device.type == "cuda"
    if why_not:
        warnings.warn(f"{name}: only edunn's explicit host transfers were checked ({why_not})")


@pytest.mark.parametrize("name,fused", [
    ("cnn_step", {"edunn_im2col_3x3_1x1_1x1_1x1", "edunn_relu_backward", "edunn_tile_max_4_int8",
                  "edunn_tile_put_2x2_int8", "edunn_cross_entropy_forward",
                  "edunn_cross_entropy_backward_mean", "edunn_adam"}),
    ("mlp_step", {"edunn_relu_backward", "edunn_cross_entropy_forward", "edunn_cross_entropy_backward_mean",
                  "edunn_sgd_mom_first", "edunn_sgd_mom"}),
    ("lstm_step", {"edunn_lstm_cell_forward", "edunn_lstm_cell_backward", "edunn_adam"}),
])
def test_training_step_runs_the_fused_kernels(name, fused, gpu, monkeypatch):
    # on a GPU the benchmark steps' im2col, ReLU backward, pooling, loss, LSTM steps and optimizer
    # run as one kernel each (edunn._kernels); equality with the CPU is checked above
    if gpu == "cpu":
        pytest.skip("the CPU stand-in takes the array paths")
    from edunn import _kernels
    launched, launch = [], _kernels.launch

    def recording(spec, *args):
        launched.append(spec.name)
        return launch(spec, *args)
    monkeypatch.setattr(_kernels, "launch", recording)
    inputs = _setup(name, gpu, monkeypatch)
    for _ in range(2):   # the second step: SGD's momentum buffer exists
        W.REGISTRY[name].run(edunn, *inputs)
    edunn.cuda.synchronize()
    assert fused <= set(launched), sorted(fused - set(launched))
