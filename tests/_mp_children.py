"""Functions run in child processes by tests/test_multiprocessing.py (a small module, so a
spawned child imports little)."""
import os


def write_rank(i, folder, word):
    with open(os.path.join(folder, f"{i}.txt"), "w") as f:
        f.write(f"{word} {i} {os.getpid()}")


def fail_on_one(i):
    if i == 1:
        raise ValueError(f"child {i} failed on purpose")


def exit_with_three(i):
    os._exit(3)


def write_into_received(i, queue, done):
    t = queue.get()
    t.add_(1)
    done.put(t.tolist())


def write_into_arg(i, t):
    t[0] = 42.0


def write_tensor_then_fill_storage(i, queue, done):
    write_into_received(i, queue, done)
    s = queue.get()
    s.fill_(5)
    done.put(s.nbytes())
