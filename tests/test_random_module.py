"""edunn.random against torch.random: names and signatures, seeding, state save/restore and
fork_rng (restores the state on exit, also after an exception; enabled=False; devices)."""
import inspect

import pytest

import edunn
import edunn.random as erandom
from opcheck import needs_torch, torch


@needs_torch
def test_public_names_and_signatures():
    assert sorted(erandom.__all__) == sorted(torch.random.__all__)
    for name in torch.random.__all__:
        ours, theirs = getattr(erandom, name), getattr(torch.random, name)
        a = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
        b = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
        assert a == b, name


def test_one_implementation_each():
    assert edunn.get_rng_state is erandom.get_rng_state
    assert edunn.set_rng_state is erandom.set_rng_state
    assert edunn.manual_seed is erandom.manual_seed
    assert edunn.initial_seed is erandom.initial_seed and edunn.seed is erandom.seed


def test_manual_seed_and_initial_seed():
    gen = erandom.manual_seed(1234)
    assert isinstance(gen, edunn.Generator)
    assert erandom.initial_seed() == 1234
    a = edunn.rand(5)
    erandom.manual_seed(1234)
    assert edunn.equal(a, edunn.rand(5))


def test_seed_is_random_and_reproducible():
    s = erandom.seed()
    assert isinstance(s, int) and erandom.initial_seed() == s
    a = edunn.rand(3)
    erandom.manual_seed(s)
    assert edunn.equal(a, edunn.rand(3))
    assert erandom.seed() != s   # 63 random bits: a repeat is practically impossible


def test_get_set_rng_state_resumes_the_stream():
    erandom.manual_seed(7)
    state = erandom.get_rng_state()
    a = edunn.randn(4)
    edunn.rand(10)
    erandom.set_rng_state(state)
    assert edunn.equal(a, edunn.randn(4))


def test_set_rng_state_rejects_other_types():
    with pytest.raises(TypeError, match="expected the dict that edunn.get_rng_state\\(\\) returned.*got list"):
        erandom.set_rng_state([1, 2, 3])


@needs_torch
def test_fork_rng_restores_like_torch():
    """Inside: reseed and draw; after: the same numbers as without the block, in both libraries."""
    for lib in (edunn, torch):
        lib.manual_seed(0)
        expected = lib.rand(3).tolist()
        lib.manual_seed(0)
        with lib.random.fork_rng():
            lib.manual_seed(99)
            lib.rand(100)
        assert lib.rand(3).tolist() == expected


def test_fork_rng_restores_after_an_exception():
    erandom.manual_seed(5)
    state = erandom.get_rng_state()
    with pytest.raises(ValueError):
        with erandom.fork_rng(devices=[]):
            edunn.rand(7)
            raise ValueError("inside")
    assert erandom.get_rng_state() == state


def test_fork_rng_disabled_and_meta():
    erandom.manual_seed(5)
    with erandom.fork_rng(enabled=False):
        edunn.rand(1)
    edunn.rand(1)
    after_two = erandom.get_rng_state()
    erandom.manual_seed(5)
    edunn.rand(2)
    assert erandom.get_rng_state() == after_two
    state = erandom.get_rng_state()
    with erandom.fork_rng(device_type="meta"):   # forks nothing, as PyTorch
        edunn.rand(3)
    assert erandom.get_rng_state() != state


def test_fork_rng_devices_from_a_generator_and_bad_device_type():
    with erandom.fork_rng(devices=(i for i in [])):
        edunn.rand(1)
    with pytest.raises(RuntimeError, match="no module of `xpu`"):
        with erandom.fork_rng(device_type="xpu"):
            pass


@pytest.mark.gpu
def test_fork_rng_restores_cuda():
    edunn.manual_seed(3)
    expected = edunn.rand(4, device="cuda").tolist()
    edunn.manual_seed(3)
    with erandom.fork_rng(devices=[0]):
        edunn.rand(50, device="cuda")
        edunn.cuda.manual_seed(11)
    assert edunn.rand(4, device="cuda").tolist() == expected


def test_thread_safe_generator_outside_thread_workers():
    assert erandom.thread_safe_generator() is None
    seen = []

    class Data(edunn.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            seen.append(erandom.thread_safe_generator())
            return edunn.tensor(float(i))

    list(edunn.utils.data.DataLoader(Data(), batch_size=1, num_workers=0))
    assert seen == [None, None]
