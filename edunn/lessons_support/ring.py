"""A simulated ring of workers, for lesson 18's ring all-reduce.

``n`` workers sit in a circle; in one *step* every worker sends one tensor to its right-hand
neighbour (worker ``i`` to worker ``(i + 1) % n``) and receives one from its left-hand
neighbour, all at the same time, as the links of a real ring (NCCL's, or MPI's ring
algorithms) are used. The ring counts the steps and the elements each worker sent, which is
what the bandwidth of an all-reduce is made of, and keeps a log of every message so that the
lesson can draw them.
"""

from __future__ import annotations

from typing import Any


class SimulatedRing:
    """``world_size`` workers in a ring; ``send_right(payloads)`` is one step of communication.

    ``payloads[i]`` is the tensor worker ``i`` sends to worker ``(i + 1) % world_size``; the
    result ``received[i]`` is what worker ``i`` got from worker ``(i - 1) % world_size``. The
    received tensors are copies (detached from autograd, as data that crossed a wire).

    ``steps``: how many times ``send_right`` was called; ``sent[i]``: how many elements worker
    ``i`` sent in all; ``log``: for every step, the list of tensors sent.
    """

    def __init__(self, world_size: int):
        if not isinstance(world_size, int) or world_size < 1:
            raise ValueError(f"SimulatedRing: world_size should be a positive int, got {world_size!r}")
        self.world_size = world_size
        self.steps = 0
        self.sent = [0] * world_size
        self.log: list[list[Any]] = []

    def send_right(self, payloads: list) -> list:
        """Every worker ``i`` sends ``payloads[i]`` to worker ``i + 1``; returns what each received."""
        n = self.world_size
        if not isinstance(payloads, (list, tuple)) or len(payloads) != n:
            got = f"{len(payloads)} payloads" if isinstance(payloads, (list, tuple)) else type(payloads).__name__
            raise ValueError(f"SimulatedRing.send_right: expected a list of {n} tensors (one per worker), got {got}")
        for i, p in enumerate(payloads):
            if not hasattr(p, "numel"):
                raise TypeError(f"SimulatedRing.send_right: worker {i}'s payload should be a tensor, "
                                f"got {type(p).__name__}")
        copies = [p.detach().clone() for p in payloads]
        self.steps += 1
        for i, p in enumerate(copies):
            self.sent[i] += p.numel()
        self.log.append(copies)
        return [copies[(i - 1) % n].clone() for i in range(n)]

    def __repr__(self) -> str:
        return f"SimulatedRing(world_size={self.world_size}, steps={self.steps}, sent={self.sent})"
