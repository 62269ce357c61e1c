"""``ChannelShuffle`` (lesson 10): interleave the channels of ``groups`` groups (ShuffleNet);
the math is :func:`edunn.nn.functional.channel_shuffle`."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """``(N, g C', *) -> (N, C' g, *)``: channel ``i C' + j`` moves to ``j g + i``."""

    __constants__ = ["groups"]

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Any) -> Any:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
