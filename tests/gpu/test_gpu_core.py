"""The device plumbing itself: generator state, mixing devices in one op."""
import pytest

import edunn


def test_a_cuda_generator_state_resumes_the_exact_stream(gpu):
    if gpu == "cpu":
        pytest.skip("the CUDA generator's state is what this checks")
    edunn.manual_seed(3)
    edunn.rand(1000, device=gpu)
    state = edunn.cuda.get_rng_state()
    first = edunn.rand(5000, device=gpu)
    drop = edunn.nn.functional.dropout(edunn.ones(5000, device=gpu), 0.5)
    edunn.rand(7, device=gpu)
    edunn.cuda.set_rng_state(state)
    assert edunn.equal(edunn.rand(5000, device=gpu), first)
    assert edunn.equal(edunn.nn.functional.dropout(edunn.ones(5000, device=gpu), 0.5), drop)
    states = edunn.cuda.get_rng_state_all()
    assert len(states) == edunn.cuda.device_count()
    edunn.cuda.manual_seed(11)
    assert edunn.cuda.initial_seed() == 11


def test_tensors_on_two_devices_in_one_op_name_both(gpu):
    if gpu == "cpu":
        pytest.skip("needs two devices")
    a = edunn.ones(3, device=gpu)
    b = edunn.ones(3)
    for op in (lambda: a + b, lambda: b * a, lambda: edunn.matmul(a, b), lambda: edunn.cat([a, b])):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but "
                                               "found at least two devices, (cuda:0 and cpu|cpu and cuda:0)!"):
            op()


def test_a_zero_dimensional_cpu_tensor_joins_a_cuda_op_like_a_number(gpu):
    a = edunn.arange(3.0, device=gpu, requires_grad=True)
    s = edunn.tensor(2.0, requires_grad=True)
    y = a * s
    assert y.device == a.device
    y.sum().backward()
    assert s.grad.device.type == "cpu" and s.grad.item() == 3.0
    assert edunn.equal(a.grad.cpu(), edunn.full((3,), 2.0))
