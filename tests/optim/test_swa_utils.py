"""edunn.optim.swa_utils against torch.optim.swa_utils: AveragedModel, update_bn, SWALR (lesson 17)."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from edunn.optim import swa_utils
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson17, needs_torch]


def _nets(conv: bool = False):
    """The same small BatchNorm network in edunn and in torch (torch gets edunn's weights)."""
    def build(lib):
        m = lib.nn
        if conv:
            return m.Sequential(m.Conv2d(2, 3, 3, padding=1), m.BatchNorm2d(3), m.ReLU(), m.Flatten(),
                                m.Linear(3 * 4 * 4, 5), m.BatchNorm1d(5, momentum=0.3), m.Linear(5, 2))
        return m.Sequential(m.Linear(4, 6), m.BatchNorm1d(6), m.ReLU(), m.Linear(6, 2))
    edunn.manual_seed(0)
    ours, theirs = build(edunn), build(torch)
    _load(theirs, ours.state_dict())
    return ours, theirs


def _load(torch_model, edunn_state):
    torch_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in edunn_state.items()})


def _random_state(model, rng, with_buffers=True):
    """A new state for ``model`` (random parameters; random BatchNorm statistics too)."""
    state = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            state[k] = edunn.tensor(int(rng.integers(0, 50)), dtype=edunn.int64)
        elif k.endswith("running_var"):
            state[k] = edunn.tensor(rng.uniform(0.5, 2.0, v.shape).astype(np.float32))
        else:
            state[k] = edunn.tensor(rng.standard_normal(v.shape).astype(np.float32))
    return state


def _assert_same_state(ours, theirs, rtol=1e-5, atol=1e-6):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert str(a[k].dtype).split(".")[-1] == str(b[k].dtype).split(".")[-1], k
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


def _ema_avg(lib):
    return lambda avg, p, n: 0.8 * avg + 0.2 * p  # a custom avg_fn


@pytest.mark.parametrize("kind", ["default", "ema_multi", "swa_multi", "ema_avg", "swa_avg", "custom"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    ours_model, torch_model = _nets()
    def fns(lib):
        su = lib.optim.swa_utils
        return {"default": {}, "ema_multi": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
                "swa_multi": {"multi_avg_fn": su.get_swa_multi_avg_fn()},
                "ema_avg": {"avg_fn": su.get_ema_avg_fn(0.7)}, "swa_avg": {"avg_fn": su.get_swa_avg_fn()},
                "custom": {"avg_fn": _ema_avg(lib)}}[kind]
    ours = swa_utils.AveragedModel(ours_model, use_buffers=use_buffers, **fns(edunn))
    theirs = torch.optim.swa_utils.AveragedModel(torch_model, use_buffers=use_buffers, **fns(torch))
    rng = np.random.default_rng(1)
    for step in range(5):
        state = _random_state(ours_model, rng)
        ours_model.load_state_dict(state)
        _load(torch_model, state)
        if kind == "swa_multi" and use_buffers and step > 0:
            # PyTorch's swa_multi_avg_fn divides the int64 num_batches_tracked with addcdiv: both raise
            for model, avg in ((ours_model, ours), (torch_model, theirs)):
                with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
                    avg.update_parameters(model)
            return
        ours.update_parameters(ours_model)
        theirs.update_parameters(torch_model)
        assert int(ours.n_averaged) == int(theirs.n_averaged) == step + 1
        assert ours.n_averaged.dtype == edunn.int64
        _assert_same_state(ours, theirs)


def test_default_average_is_the_mean_of_the_models():
    model = nn.Linear(3, 2)
    avg = swa_utils.AveragedModel(model)
    weights = []
    for i in range(4):
        with edunn.no_grad():
            model.weight.copy_(edunn.randn(2, 3))
        weights.append(model.weight.detach().numpy().copy())
        avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), np.mean(weights, axis=0), rtol=1e-5, atol=1e-6)
    x = edunn.randn(5, 3)
    np.testing.assert_allclose(avg(x).detach().numpy(), avg.module(x).detach().numpy())
    assert avg.module is not model and avg.module.weight is not model.weight


def test_averaged_model_state_dict_round_trip(tmp_path):
    ours_model, torch_model = _nets()
    avg = swa_utils.AveragedModel(ours_model)
    for _ in range(3):
        avg.update_parameters(ours_model)
    sd = avg.state_dict()
    assert "n_averaged" in sd and "module.0.weight" in sd and int(sd["n_averaged"]) == 3
    assert list(sd) == list(torch.optim.swa_utils.AveragedModel(torch_model).state_dict())
    path = tmp_path / "swa.safetensors"
    edunn.save(sd, str(path))
    fresh = swa_utils.AveragedModel(_nets()[0])
    fresh.load_state_dict(edunn.load(str(path)))
    assert int(fresh.n_averaged) == 3
    for k, v in avg.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k].numpy(), v.numpy())
    # and torch's AveragedModel loads our state
    t = torch.optim.swa_utils.AveragedModel(torch_model)
    _load(t, sd)
    assert int(t.n_averaged) == 3


def test_averaged_model_errors():
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(nn.Linear(2, 2), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="Invalid decay value -0.1"):
        swa_utils.get_ema_avg_fn(-0.1)
    with pytest.raises(TypeError, match="expects an edunn.nn.Module"):
        swa_utils.AveragedModel(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("as_tuples", [False, True])
def test_update_bn_matches_torch(conv, as_tuples):
    ours, theirs = _nets(conv)
    rng = np.random.default_rng(2)
    shape = (2, 4, 4) if conv else (4,)
    batches = [rng.standard_normal((n,) + shape).astype(np.float32) * 3 + 1 for n in (8, 5, 7)]
    targets = [np.zeros(len(b), dtype=np.int64) for b in batches]

    def loader(lib):
        if as_tuples:
            return [(lib.tensor(b), lib.tensor(t)) for b, t in zip(batches, targets)]
        return [lib.tensor(b) for b in batches]
    ours.eval()
    theirs.eval()
    swa_utils.update_bn(loader(edunn), ours)
    torch.optim.swa_utils.update_bn(loader(torch), theirs)
    _assert_same_state(ours, theirs, rtol=1e-4, atol=1e-5)
    assert not ours.training  # the mode is restored
    momenta = [m.momentum for m in ours.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert momenta == ([0.1, 0.3] if conv else [0.1])
    assert int(ours[1].num_batches_tracked) == 3


def test_update_bn_with_dataloader_and_averaged_model():
    ours, theirs = _nets()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    ours_avg, theirs_avg = swa_utils.AveragedModel(ours), torch.optim.swa_utils.AveragedModel(theirs)
    ours_avg.update_parameters(ours)
    theirs_avg.update_parameters(theirs)
    loader = edunn.utils.data.DataLoader(edunn.utils.data.TensorDataset(edunn.tensor(x)), batch_size=6)
    tloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x)), batch_size=6)
    swa_utils.update_bn(loader, ours_avg)
    torch.optim.swa_utils.update_bn(tloader, theirs_avg)
    _assert_same_state(ours_avg, theirs_avg, rtol=1e-4, atol=1e-5)
    assert ours_avg.training


def test_update_bn_without_batchnorm_is_a_no_op():
    model = nn.Sequential(nn.Linear(2, 2))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    swa_utils.update_bn([edunn.randn(3, 2)], model)
    swa_utils.update_bn([], model)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_update_bn_with_an_empty_loader_matches_torch():
    ours, theirs = _nets()
    swa_utils.update_bn([], ours)
    torch.optim.swa_utils.update_bn([], theirs)
    _assert_same_state(ours, theirs)  # reset statistics, as PyTorch leaves them


# ---------------------------------------------------------------------------------------------- SWALR
def _optimizers(lrs):
    ours_p = [nn.Parameter(edunn.zeros(2)) for _ in lrs]
    theirs_p = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    ours = edunn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ours_p, lrs)], lr=lrs[0])
    theirs = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(theirs_p, lrs)], lr=lrs[0])
    return ours, theirs


def _run(sched, opt, n):
    seq = [sched.get_last_lr()]
    for _ in range(n):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
    return seq


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
@pytest.mark.parametrize("swa_lr", [0.05, [0.05, 0.2]])
def test_swalr_sequence_matches_torch(strategy, anneal_epochs, swa_lr):
    ours_opt, theirs_opt = _optimizers([0.5, 0.1])
    ours = swa_utils.SWALR(ours_opt, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    theirs = torch.optim.swa_utils.SWALR(theirs_opt, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    np.testing.assert_allclose(_run(ours, ours_opt, 12), _run(theirs, theirs_opt, 12), rtol=1e-12)
    assert [g["swa_lr"] for g in ours_opt.param_groups] == [g["swa_lr"] for g in theirs_opt.param_groups]


def test_swalr_after_another_scheduler_and_state_dict_matches_torch():
    ours_opt, theirs_opt = _optimizers([0.5])
    ours_cos = edunn.optim.lr_scheduler.CosineAnnealingLR(ours_opt, T_max=10)
    theirs_cos = torch.optim.lr_scheduler.CosineAnnealingLR(theirs_opt, T_max=10)
    np.testing.assert_allclose(_run(ours_cos, ours_opt, 4), _run(theirs_cos, theirs_opt, 4), rtol=1e-12)
    ours = swa_utils.SWALR(ours_opt, swa_lr=0.02, anneal_epochs=3)
    theirs = torch.optim.swa_utils.SWALR(theirs_opt, swa_lr=0.02, anneal_epochs=3)
    np.testing.assert_allclose(_run(ours, ours_opt, 2), _run(theirs, theirs_opt, 2), rtol=1e-12)
    sd = ours.state_dict()
    assert "anneal_func" not in sd and "optimizer" not in sd and sd["_anneal_strategy"] == "cos"
    resumed = swa_utils.SWALR(ours_opt, swa_lr=0.02, anneal_epochs=3, anneal_strategy="linear")
    ours_opt.param_groups[0]["lr"] = ours.get_last_lr()[0]  # building overwrote the lr
    resumed.load_state_dict(sd)
    assert resumed.anneal_func is swa_utils.SWALR._cosine_anneal
    np.testing.assert_allclose(_run(resumed, ours_opt, 4)[1:], _run(theirs, theirs_opt, 4)[1:], rtol=1e-12)


def test_swalr_errors():
    opt, _ = _optimizers([0.1, 0.2])
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
        swa_utils.SWALR(opt, 0.05, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
        swa_utils.SWALR(opt, 0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got 2.5"):
        swa_utils.SWALR(opt, 0.05, anneal_epochs=2.5)
    with pytest.raises(ValueError, match="swa_lr must have the same length as optimizer.param_groups"):
        swa_utils.SWALR(opt, [0.05])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        swa_utils.SWALR(object(), 0.05)
    sched = swa_utils.SWALR(opt, 0.05)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


@pytest.mark.parametrize("name", swa_utils.__all__)
def test_signatures_match_torch(name):
    import inspect
    ours, theirs = getattr(swa_utils, name), getattr(torch.optim.swa_utils, name)

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    assert params(ours) == params(theirs)
    if isinstance(ours, type):
        for method, fn in vars(theirs).items():
            if callable(fn) and not method.startswith("__"):
                assert method in vars(ours), method
                assert params(vars(ours)[method]) == params(fn), method


def test_averaged_model_and_update_bn_on_a_device(device):
    """The averaged copy lives on ``device`` while the model stays on the CPU; update_bn moves each
    batch to ``device``.  Results equal the all-CPU ones."""
    cpu_model, _ = _nets()
    avg_cpu = swa_utils.AveragedModel(cpu_model)
    avg_dev = swa_utils.AveragedModel(cpu_model, device=device)
    assert avg_dev.n_averaged.device.type == edunn.device(device).type
    assert all(p.device.type == edunn.device(device).type for p in avg_dev.parameters())
    rng = np.random.default_rng(4)
    for _ in range(3):
        cpu_model.load_state_dict(_random_state(cpu_model, rng))
        avg_cpu.update_parameters(cpu_model)
        avg_dev.update_parameters(cpu_model)
    batches = [edunn.tensor(rng.standard_normal((6, 4)).astype(np.float32)) for _ in range(3)]
    swa_utils.update_bn(batches, avg_cpu)
    swa_utils.update_bn(batches, avg_dev, device=device)
    for k, v in avg_cpu.state_dict().items():
        got = avg_dev.state_dict()[k]
        assert got.device.type == edunn.device(device).type, k
        np.testing.assert_allclose(got.cpu().numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
