"""Every learning-rate scheduler and the SWA utilities with parameters on the GPU (lessons 16-18).

A scheduler only rewrites ``param_groups``, so on ``cuda`` it must give exactly the CPU's
learning-rate sequence (and PyTorch's, when torch is installed) while the optimizer it drives
updates parameters on the device; a tensor learning rate on the device is updated in place;
``AveragedModel`` (SWA and EMA) averages on the device; ``update_bn`` recomputes BatchNorm
statistics from a ``DataLoader`` of ``cuda`` tensors; ``SWALR`` anneals as on the CPU.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import edunn
from _compare import on_device
from edunn import nn, optim
from edunn.optim import lr_scheduler as L
from edunn.optim import swa_utils
from edunn.utils.data import DataLoader, TensorDataset
from opcheck import torch

# the scheduler classes of one library in one namespace (SWALR lives in swa_utils)
E = SimpleNamespace(**{k: getattr(L, k) for k in dir(L) if not k.startswith("__")}, SWALR=swa_utils.SWALR)
TL = (SimpleNamespace(**{k: getattr(torch.optim.lr_scheduler, k) for k in dir(torch.optim.lr_scheduler)
                         if not k.startswith("__")}, SWALR=torch.optim.swa_utils.SWALR)
      if torch is not None else None)

pytestmark = pytest.mark.lesson18

EPOCHS = 30
SHAPES = [(4, 3), (3,)]

# name -> (make(M, optimizer), optimizer class name, optimizer options)
SCHEDULERS = {
    "LambdaLR": (lambda M, o: M.LambdaLR(o, lambda e: 0.95 ** e), "SGD", {}),
    "MultiplicativeLR": (lambda M, o: M.MultiplicativeLR(o, lambda e: 0.97), "SGD", {}),
    "StepLR": (lambda M, o: M.StepLR(o, step_size=7, gamma=0.5), "SGD", {"momentum": 0.9}),
    "MultiStepLR": (lambda M, o: M.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3), "Adam", {}),
    "ConstantLR": (lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=8), "SGD", {}),
    "LinearLR": (lambda M, o: M.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=12), "AdamW", {}),
    "ExponentialLR": (lambda M, o: M.ExponentialLR(o, gamma=0.9), "SGD", {}),
    "PolynomialLR": (lambda M, o: M.PolynomialLR(o, total_iters=20, power=2.0), "SGD", {}),
    "CosineAnnealingLR": (lambda M, o: M.CosineAnnealingLR(o, T_max=11, eta_min=0.001), "Adam", {}),
    "ChainedScheduler": (lambda M, o: M.ChainedScheduler([M.ConstantLR(o, factor=0.1, total_iters=3),
                                                          M.ExponentialLR(o, gamma=0.9)]), "SGD", {}),
    "SequentialLR": (lambda M, o: M.SequentialLR(o, [M.LinearLR(o, start_factor=0.1, total_iters=6),
                                                     M.CosineAnnealingLR(o, T_max=20)], milestones=[6]),
                     "SGD", {"momentum": 0.5}),
    "CyclicLR": (lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="triangular2"),
                 "SGD", {"momentum": 0.9}),
    "CyclicLR_adam_momentum": (lambda M, o: M.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=3,
                                                       mode="exp_range", gamma=0.9), "Adam", {}),
    "OneCycleLR": (lambda M, o: M.OneCycleLR(o, max_lr=0.1, total_steps=EPOCHS), "SGD", {"momentum": 0.9}),
    "OneCycleLR_linear_adam": (lambda M, o: M.OneCycleLR(o, max_lr=0.05, total_steps=EPOCHS,
                                                         anneal_strategy="linear", three_phase=True),
                               "Adam", {}),
    "CosineAnnealingWarmRestarts": (lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                               eta_min=0.002), "SGD", {}),
    "ReduceLROnPlateau": (lambda M, o: M.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.05),
                          "SGD", {}),
    "SWALR": (lambda M, o: M.SWALR(o, swa_lr=0.01, anneal_epochs=5), "SGD", {}),
    "SWALR_linear": (lambda M, o: M.SWALR(o, swa_lr=[0.02, 0.01], anneal_epochs=7, anneal_strategy="linear"),
                     "SGD", {}),
}


def test_every_scheduler_is_covered():
    every = {n for n in dir(E) if isinstance(getattr(E, n), type) and issubclass(getattr(E, n), L.LRScheduler)
             and not n.startswith("_") and n not in ("LRScheduler",)}
    covered = {name.split("_")[0] for name in SCHEDULERS}
    assert every <= covered, f"schedulers without a GPU check: {sorted(every - covered)}"


def _grads(seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    return init, [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(EPOCHS)]


def _metric(k: int) -> float:
    return [1.0, 0.9, 0.89, 0.88, 0.8, 0.8, 0.79, 0.5, 0.5, 0.5][k % 10] + (k // 10) * 0.01


def _drive(name: str, device: str, lib: str = "edunn"):
    """Run EPOCHS of (optimizer.step, scheduler.step); returns the lr sequence (every group),
    the momentum/beta1 sequence and the final parameters."""
    make, opt_name, opt_kw = SCHEDULERS[name]
    init, grads = _grads()
    if lib == "torch":
        params = [torch.tensor(a, requires_grad=True) for a in init]
        opt = getattr(torch.optim, opt_name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}],
                                             lr=0.1, **opt_kw)
        sched = make(TL, opt)
    else:
        params = [edunn.tensor(a, requires_grad=True, device=device) for a in init]
        opt = getattr(optim, opt_name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}],
                                       lr=0.1, **opt_kw)
        sched = make(E, opt)
    lrs, moms = [], []
    for k in range(EPOCHS):
        for p, g in zip(params, grads[k]):
            p.grad = torch.tensor(g) if lib == "torch" else edunn.tensor(g, device=device)
        opt.step()
        if name == "ReduceLROnPlateau":
            loss = _metric(k)
            sched.step(torch.tensor(loss) if lib == "torch" else edunn.tensor(loss, device=device))
        else:
            sched.step()
        lrs.append([float(g["lr"]) for g in opt.param_groups])
        moms.append([float(g["momentum"]) if "momentum" in g else float(g["betas"][0]) for g in opt.param_groups])
    values = [p.detach().numpy().copy() if lib == "torch" else p.detach().cpu().numpy() for p in params]
    return lrs, moms, values, params, opt, sched


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_on_the_device_equals_the_cpu(name, gpu):
    lrs_d, moms_d, vals_d, params, opt, sched = _drive(name, gpu)
    lrs_c, moms_c, vals_c, *_ = _drive(name, "cpu")
    assert lrs_d == lrs_c, f"{name}: learning rates on {gpu} differ from the CPU's"
    assert moms_d == moms_c, f"{name}: momenta on {gpu} differ from the CPU's"
    assert len({tuple(x) for x in lrs_d}) > 1, f"{name}: the learning rate never changed"
    for p in params:
        assert on_device(p, gpu)
    for i, (a, b) in enumerate(zip(vals_d, vals_c)):
        np.testing.assert_allclose(a, b, rtol=5e-5, atol=5e-6, err_msg=f"{name}: param {i}")
    if name == "ReduceLROnPlateau":
        assert isinstance(sched.best, float), "the tracked best metric must be a host number"
    if torch is not None:
        lrs_t, moms_t, *_ = _drive(name, "cpu", lib="torch")
        np.testing.assert_allclose(np.array(lrs_d), np.array(lrs_t), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name}: learning rates differ from PyTorch's")
        np.testing.assert_allclose(np.array(moms_d), np.array(moms_t), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR"])
def test_scheduler_state_dict_resumes_across_devices(name, gpu):
    """Half the run on the device, the scheduler's and optimizer's state_dicts into a fresh pair
    on the CPU: the second half equals an uninterrupted run."""
    make, opt_name, opt_kw = SCHEDULERS[name]
    full_lrs, *_ = _drive(name, "cpu")
    init, grads = _grads()
    halves = []
    for dev in (gpu, "cpu"):
        params = [edunn.tensor(a, requires_grad=True, device=dev) for a in init]
        opt = getattr(optim, opt_name)([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}],
                                       lr=0.1, **opt_kw)
        halves.append((params, opt, make(E, opt)))
    (p_dev, o_dev, s_dev), (p_cpu, o_cpu, s_cpu) = halves
    lrs = []
    for k in range(EPOCHS // 2):
        for p, g in zip(p_dev, grads[k]):
            p.grad = edunn.tensor(g, device=gpu)
        o_dev.step()
        s_dev.step()
        lrs.append([float(g["lr"]) for g in o_dev.param_groups])
    with edunn.no_grad():
        for a, b in zip(p_cpu, p_dev):
            a.copy_(b.cpu())
    o_cpu.load_state_dict(o_dev.state_dict())
    s_cpu.load_state_dict(s_dev.state_dict())
    for k in range(EPOCHS // 2, EPOCHS):
        for p, g in zip(p_cpu, grads[k]):
            p.grad = edunn.tensor(g)
        o_cpu.step()
        s_cpu.step()
        lrs.append([float(g["lr"]) for g in o_cpu.param_groups])
    assert lrs == full_lrs


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR", "SWALR"])
def test_a_tensor_lr_on_the_device_is_updated_in_place(name, gpu):
    make, _, _ = SCHEDULERS[name]
    init, grads = _grads()
    params = [edunn.tensor(a, requires_grad=True, device=gpu) for a in init]
    lr = edunn.tensor(0.1, device=gpu)
    opt = optim.SGD(params, lr=lr, foreach=False)
    sched = make(E, opt)
    floats = optim.SGD([edunn.tensor(a, requires_grad=True, device=gpu) for a in init], lr=0.1)
    ref = make(E, floats)
    for k in range(10):
        for p, g in zip(params, grads[k]):
            p.grad = edunn.tensor(g, device=gpu)
        for p, g in zip(floats.param_groups[0]["params"], grads[k]):
            p.grad = edunn.tensor(g, device=gpu)
        opt.step()
        floats.step()
        sched.step()
        ref.step()
        assert opt.param_groups[0]["lr"] is lr, f"{name} replaced the tensor lr instead of writing into it"
        assert on_device(lr, gpu)
        assert math.isclose(lr.item(), floats.param_groups[0]["lr"], rel_tol=1e-6), f"{name}: epoch {k}"


# ------------------------------------------------------------------------------ swa_utils
def _net(device: str) -> nn.Module:
    edunn.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).to(device)


def _perturb(model: nn.Module, k: int) -> None:
    with edunn.no_grad():
        for j, p in enumerate(model.parameters()):
            rng = np.random.default_rng(100 * k + j)
            p.add_(edunn.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32), device=p.device))
        model[1].running_mean.add_(float(k))


AVERAGING = {
    "swa": {},
    "ema_multi": {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)},
    "ema": {"avg_fn": swa_utils.get_ema_avg_fn(0.8)},
    "swa_use_buffers": {"use_buffers": True},
    "ema_use_buffers": {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.7), "use_buffers": True},
}


@pytest.mark.parametrize("kind", list(AVERAGING))
def test_averaged_model_on_the_device_equals_the_cpu(kind, gpu):
    results = {}
    for dev in ("cpu", gpu):
        model = _net(dev)
        avg = swa_utils.AveragedModel(model, **AVERAGING[kind])
        history = []
        for k in range(4):
            _perturb(model, k)
            avg.update_parameters(model)
            history.append([p.detach().cpu().numpy().copy() for p in model.parameters()])
        # n_averaged lives where AveragedModel's device= says (the CPU by default), as PyTorch's
        for t in list(avg.parameters()) + [b for n, b in avg.named_buffers() if n != "n_averaged"]:
            assert t.device.type == edunn.device(dev).type, f"{kind}: averaged tensor on {t.device}"
        assert avg.n_averaged.item() == 4
        results[dev] = ([t.detach().cpu().numpy() for t in avg.state_dict().values()], history)
        if kind == "swa":  # the running mean of the four models, computed directly
            for a, *ps in zip(avg.module.parameters(), *history):
                np.testing.assert_allclose(a.detach().cpu().numpy(), np.mean(ps, axis=0), rtol=1e-5, atol=1e-6)
    for a, b in zip(results[gpu][0], results["cpu"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=kind)


def test_averaged_model_of_a_cpu_model_lives_on_the_device(gpu):
    model = _net("cpu")
    avg = swa_utils.AveragedModel(model, device=gpu)
    assert all(on_device(p, gpu) for p in avg.parameters())
    assert on_device(avg.n_averaged, gpu)
    for k in range(3):
        _perturb(model, k)
        avg.update_parameters(model)  # the CPU model's parameters travel to the device
    out = avg(edunn.ones(4, 3, device=gpu))
    assert on_device(out, gpu) and tuple(out.shape) == (4, 2)


@pytest.mark.parametrize("loader_on", ["target", "cpu_with_device_arg"])
def test_update_bn_over_a_loader_of_device_tensors(loader_on, gpu):
    rng = np.random.default_rng(7)
    data = (rng.standard_normal((64, 3)) * 2 + 1).astype(np.float32)
    model = _net(gpu)
    with edunn.no_grad():  # a known first layer: the identity padded with zeros (+ bias)
        w = np.zeros((5, 3), np.float32)
        w[:3, :3] = np.eye(3)
        model[0].weight.copy_(edunn.tensor(w, device=gpu))
        model[0].bias.copy_(edunn.arange(5.0, device=gpu))
    model[1].momentum = 0.3
    model.eval()
    x = edunn.tensor(data, device=gpu if loader_on == "target" else "cpu")
    labels = edunn.zeros(64, dtype=edunn.long, device=x.device)
    loader = DataLoader(TensorDataset(x, labels), batch_size=16, shuffle=False)
    if loader_on == "target":
        swa_utils.update_bn(loader, model)
    else:
        swa_utils.update_bn(loader, model, device=gpu)
    bn = model[1]
    assert on_device(bn.running_mean, gpu)
    assert not model.training and bn.momentum == 0.3, "update_bn must restore mode and momentum"
    assert int(bn.num_batches_tracked.item()) == 4
    h = np.concatenate([data, np.zeros((64, 2), np.float32)], 1) + np.arange(5, dtype=np.float32)
    batches = h.reshape(4, 16, 5)
    np.testing.assert_allclose(bn.running_mean.cpu().numpy(), batches.mean(1).mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.running_var.cpu().numpy(), batches.var(1, ddof=1).mean(0), rtol=1e-4, atol=1e-5)
    # and the same on the CPU
    ref = _net("cpu")
    ref.load_state_dict({k: v.cpu() for k, v in model.state_dict().items()})
    swa_utils.update_bn(DataLoader(TensorDataset(edunn.tensor(data), labels.cpu()), batch_size=16), ref)
    np.testing.assert_allclose(bn.running_var.cpu().numpy(), ref[1].running_var.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_after_cosine_on_the_device(strategy, gpu):
    """The lesson-17 recipe on the device: cosine annealing, then SWALR from epoch 10 with an
    AveragedModel collecting the weights; the lr sequence equals the CPU's."""
    runs = {}
    for dev in ("cpu", gpu):
        model = _net(dev)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        cos = L.CosineAnnealingLR(opt, T_max=10)
        swa = swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=4, anneal_strategy=strategy)
        avg = swa_utils.AveragedModel(model)
        x = edunn.tensor(np.random.default_rng(1).standard_normal((16, 3)).astype(np.float32), device=dev)
        lrs = []
        for epoch in range(16):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            if epoch >= 10:
                avg.update_parameters(model)
                swa.step()
            else:
                cos.step()
            lrs.append(opt.param_groups[0]["lr"])
        runs[dev] = (lrs, [p.detach().cpu().numpy() for p in avg.parameters()])
    assert runs[gpu][0] == runs["cpu"][0]
    assert abs(runs[gpu][0][-1] - 0.02) < 1e-12
    for a, b in zip(runs[gpu][1], runs["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
