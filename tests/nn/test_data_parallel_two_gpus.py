"""``nn.DataParallel`` and ``nn.parallel.comm`` over two GPUs (lesson 18): the batch scattered to
cuda:0 and cuda:1, a replica on each, outputs gathered, gradients summed back onto cuda:0 --
equal to one model on the whole batch on the CPU.  Needs two CUDA devices (the CuPy stand-in's
``EDUNN_FAKE_CUDA=2`` provides two pretend ones); skipped otherwise."""
from __future__ import annotations

import copy

import pytest

import edunn
from edunn import nn
from edunn.nn.parallel import comm
from opcheck import assert_close

pytestmark = [pytest.mark.gpu, pytest.mark.lesson18]


@pytest.fixture(autouse=True)
def two_gpus():
    if not edunn.cuda.is_available() or edunn.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")


def _model(train: bool) -> nn.Module:
    edunn.manual_seed(1)
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).double()
    return m.train(train)


def _batch(n: int = 7) -> edunn.Tensor:
    edunn.manual_seed(2)
    return edunn.randn(n, 4, dtype=edunn.float64)


def _loss_and_grads(m: nn.Module, run) -> tuple:
    m.zero_grad()
    out = run(m)
    (out ** 2).sum().backward()
    return out.detach().cpu(), [p.grad.detach().cpu() for p in m.parameters()]


def test_data_parallel_over_two_gpus_equals_the_whole_batch_on_the_cpu():
    m, x = _model(train=False), _batch()
    ref_out, ref_grads = _loss_and_grads(m, lambda mod: mod(x))
    gpu = copy.deepcopy(m).cuda(0)
    dp = nn.DataParallel(gpu, device_ids=[0, 1])
    assert dp.device_ids == [0, 1] and dp.output_device == 0
    out, grads = _loss_and_grads(gpu, lambda mod: dp(x.cuda(0)))
    assert dp(x.cuda(0)).device == edunn.device("cuda", 0)
    assert_close(out, ref_out, atol=1e-10)
    for g, r, p in zip(grads, ref_grads, gpu.parameters()):
        assert p.grad.device == edunn.device("cuda", 0), "the replicas' gradients are summed on device_ids[0]"
        assert_close(g, r, atol=1e-10)
    assert edunn.cuda.current_device() == 0


def test_data_parallel_train_mode_batchnorm_normalises_each_gpus_chunk():
    m, x = _model(train=True), _batch(8)
    gpu = copy.deepcopy(m).cuda(0)
    dp = nn.DataParallel(gpu, device_ids=["cuda:0", "cuda:1"], output_device=1)
    out = dp(x.cuda(0))
    assert out.device == edunn.device("cuda", 1)
    halves = [copy.deepcopy(m)(x[:4]), copy.deepcopy(m)(x[4:])]  # each replica sees its own chunk
    assert_close(out.cpu(), edunn.cat(halves).detach(), atol=1e-10)


def test_comm_across_two_gpus():
    t = _batch(6).cuda(0)
    copies = comm.broadcast(t, [0, 1])
    assert [c.device.index for c in copies] == [0, 1]
    assert_close(copies[1].cpu(), t.cpu(), atol=0)
    total = comm.reduce_add(copies, destination=1)
    assert total.device == edunn.device("cuda", 1)
    assert_close(total.cpu(), 2 * t.cpu(), atol=0)
    pieces = comm.scatter(t, [0, 1])
    assert [p.shape[0] for p in pieces] == [3, 3] and pieces[1].device == edunn.device("cuda", 1)
    back = comm.gather(pieces, 0, destination=1)
    assert back.device == edunn.device("cuda", 1)
    assert_close(back.cpu(), t.cpu(), atol=0)
