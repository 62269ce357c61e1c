"""The device plumbing itself: generator state, mixing devices in one op."""
import pytest

import edunn
from _compare import full_name


def test_a_cuda_generator_state_resumes_the_exact_stream(gpu):
    if gpu == "cpu":
        pytest.skip("the CUDA generator's state is what this checks")
    edunn.manual_seed(3)
    edunn.rand(1000, device=gpu)
    state = edunn.cuda.get_rng_state(gpu)
    first = edunn.rand(5000, device=gpu)
    drop = edunn.nn.functional.dropout(edunn.ones(5000, device=gpu), 0.5)
    edunn.rand(7, device=gpu)
    edunn.cuda.set_rng_state(state, gpu)
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
    name = full_name(gpu)
    for op in (lambda: a + b, lambda: b * a, lambda: edunn.matmul(a, b), lambda: edunn.cat([a, b])):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but "
                                               f"found at least two devices, ({name} and cpu|cpu and {name})!"):
            op()


def test_a_zero_dimensional_cpu_tensor_joins_a_cuda_op_like_a_number(gpu):
    a = edunn.arange(3.0, device=gpu, requires_grad=True)
    s = edunn.tensor(2.0, requires_grad=True)
    y = a * s
    assert y.device == a.device
    y.sum().backward()
    assert s.grad.device.type == "cpu" and s.grad.item() == 3.0
    assert edunn.equal(a.grad.cpu(), edunn.full((3,), 2.0))


def test_a_bad_class_index_on_the_gpu_is_reported_at_the_next_synchronisation(gpu):
    logits = edunn.zeros(4, 3, device=gpu, requires_grad=True)
    target = edunn.tensor([0, 1, 7, 2], device=gpu)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        loss = edunn.nn.functional.cross_entropy(logits, target)  # raises here on the CPU ...
        loss.item()                                              # ... and here on a GPU
    emb = edunn.nn.Embedding(5, 2).to(gpu)
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(edunn.tensor([1, 5], device=gpu)).sum().item()
    ok = edunn.nn.functional.cross_entropy(logits, edunn.tensor([0, 1, 2, -100], device=gpu))
    assert abs(ok.item() - 1.0986123) < 1e-5  # a failed check is reported once, then forgotten


def test_an_out_of_range_index_on_the_gpu_is_an_error_not_a_wrapped_read(gpu):
    x = edunn.arange(3.0, device=gpu)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[edunn.tensor([0, 3], device=gpu)].sum().item()
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.gather(0, edunn.tensor([5], device=gpu)).item()
    assert x[edunn.tensor([-1], device=gpu)].item() == 2.0


def test_device_properties_match_torch(gpu):
    if gpu == "cpu":
        pytest.skip("describes a CUDA device")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device to compare with (the CuPy stand-in, or a CPU build)")
    ours, theirs = edunn.cuda.get_device_properties(0), torch.cuda.get_device_properties(0)
    assert (ours.name, ours.major, ours.minor, ours.multi_processor_count) == \
        (theirs.name, theirs.major, theirs.minor, theirs.multi_processor_count)
    assert abs(ours.total_memory - theirs.total_memory) < 64 * 2**20
    assert edunn.cuda.get_device_capability() == torch.cuda.get_device_capability()
    free, total = edunn.cuda.mem_get_info()
    assert 0 < free <= total


def test_factories_make_tensors_on_the_default_device(gpu):
    cpu_tensor = edunn.ones(3, device="cpu")
    edunn.set_default_device(gpu)
    try:
        assert str(edunn.get_default_device()) == full_name(gpu)
        made = [edunn.zeros(2), edunn.full((2,), 1.5), edunn.arange(4), edunn.linspace(0, 1, 3),
                edunn.eye(2), edunn.rand(2), edunn.randn(2), edunn.randint(0, 5, (2,)), edunn.randperm(3),
                edunn.tensor([1.0, 2.0]), edunn.tensor(cpu_tensor), edunn.as_tensor([1, 2]),
                edunn.hann_window(4)]
        assert {str(t.device) for t in made} == {full_name(gpu)}
        assert edunn.zeros_like(cpu_tensor).device.type == "cpu"   # *_like follow their input
        assert edunn.zeros(2, device="cpu").device.type == "cpu"
    finally:
        edunn.set_default_device(None)
    assert edunn.get_default_device().type == "cpu" and edunn.zeros(1).device.type == "cpu"
