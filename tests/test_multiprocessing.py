"""``edunn.multiprocessing``: spawn/start_processes (the index first, results from each child, a
child's exception re-raised in the parent), tensors through queues (shared after
``share_memory_()``, copied otherwise), and the sharing-strategy API compared with torch's."""
import multiprocessing as std_mp

import pytest

import _mp_children as kids
import edunn
import edunn.multiprocessing as mp
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson18


def test_spawn_two_processes_each_writes_its_result(tmp_path):
    assert mp.spawn(kids.write_rank, args=(str(tmp_path), "rank"), nprocs=2) is None
    texts = sorted(p.read_text() for p in tmp_path.iterdir())
    assert [t.split()[:2] for t in texts] == [["rank", "0"], ["rank", "1"]]
    assert len({t.split()[2] for t in texts}) == 2  # two different processes


def test_a_failing_child_is_raised_in_the_parent():
    with pytest.raises(mp.ProcessRaisedException) as err:
        mp.start_processes(kids.fail_on_one, nprocs=2, start_method="fork")
    assert err.value.error_index == 1 and "ValueError: child 1 failed on purpose" in str(err.value)
    assert "Traceback" in str(err.value) and "-- Process 1 terminated with the following error:" in str(err.value)
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3") as err:
        mp.start_processes(kids.exit_with_three, nprocs=1, start_method="fork")
    assert err.value.exit_code == 3 and err.value.signal_name is None


def test_join_false_returns_the_context(tmp_path):
    ctx = mp.start_processes(kids.write_rank, args=(str(tmp_path), "x"), nprocs=2, join=False, start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 2
    while not ctx.join():
        pass
    assert len(list(tmp_path.iterdir())) == 2
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(kids.write_rank, args=(str(tmp_path), "y"), nprocs=1, start_method="fork")


def test_queue_shares_a_shared_tensor_and_copies_others():
    ctx = std_mp.get_context("fork")
    for shared in (True, False):
        x = edunn.arange(4.)
        if shared:
            x.share_memory_()
        queue, done = ctx.Queue(), ctx.Queue()
        p = ctx.Process(target=kids.write_into_received, args=(0, queue, done))
        p.start()
        queue.put(x)
        assert done.get(timeout=60) == [1.0, 2.0, 3.0, 4.0]
        p.join()
        assert x.tolist() == ([1.0, 2.0, 3.0, 4.0] if shared else [0.0, 1.0, 2.0, 3.0])


def test_spawned_child_writes_into_a_shared_tensor_argument():
    x = edunn.zeros(3).share_memory_()
    view = x[1:]  # made after share_memory_: shares the block too
    mp.spawn(kids.write_into_arg, args=(view,), nprocs=1)
    assert x.tolist() == [0.0, 42.0, 0.0]


def test_non_leaf_requiring_grad_is_refused():
    y = edunn.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        std_mp.reduction.ForkingPickler.dumps(y)


@needs_torch
def test_sharing_strategies_and_names_match_torch():
    import torch.multiprocessing as tmp
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(AssertionError):
        mp.set_sharing_strategy("carrier_pigeon")
    assert sorted(mp.__all__) == sorted(tmp.__all__ + ["spawn", "start_processes", "ProcessContext", "SpawnContext",
                                                       "ProcessException", "ProcessRaisedException",
                                                       "ProcessExitedException"])
    for name in tmp.__all__:
        assert hasattr(mp, name), name
    import inspect
    assert inspect.signature(mp.spawn) == inspect.signature(tmp.spawn)
    assert inspect.signature(mp.start_processes) == inspect.signature(tmp.start_processes)
    assert torch is not None


def test_file_backed_tensors_and_storages_are_shared_through_queues(tmp_path):
    ctx = std_mp.get_context("spawn")
    x = edunn.from_file(str(tmp_path / "t.bin"), shared=True, size=4, dtype=edunn.float32)
    s = edunn.UntypedStorage(8).share_memory_()
    view = edunn.empty(0, dtype=edunn.uint8).set_(s)
    queue, done = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=kids.write_tensor_then_fill_storage, args=(0, queue, done))
    p.start()
    queue.put(x[1:])
    assert done.get(timeout=120) == [1.0, 1.0, 1.0]
    assert x.tolist() == [0.0, 1.0, 1.0, 1.0]
    queue.put(s)
    assert done.get(timeout=120) == 8
    p.join()
    assert view.tolist() == [5] * 8
    private = edunn.from_file(str(tmp_path / "t.bin"), shared=False, size=4, dtype=edunn.float32)
    assert private.is_shared()  # as torch says of a private mapping; but it is sent by value:
    assert std_mp.reduction.ForkingPickler.loads(std_mp.reduction.ForkingPickler.dumps(private)).data_ptr() != \
        private.data_ptr()
