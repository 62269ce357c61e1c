"""Inference tensors: what ``inference_mode`` makes (``Tensor.is_inference()``).

PyTorch marks every tensor created under ``torch.inference_mode()`` (a new tensor, not a view
of a normal one) as an *inference tensor*: it skips version counting for it, so such a tensor
may not be saved for backward outside inference mode ("Inference tensors cannot be saved for
backward") nor modified in place there.

edunn marks such a tensor by giving it an :class:`InferenceVersion` as its version counter
(the list ``[version]`` every tensor has).  That costs nothing for normal tensors: the mark is
set only where ``state.inference`` is checked at creation (``Tensor._make`` and the not-recorded
branch of ``Function.apply``), views keep their base's counter and so its mark, and the refusal
lives in the counter itself -- reading the version of an inference tensor outside inference
mode, which ``save_for_backward`` and every in-place op do, raises PyTorch's error.
"""
from __future__ import annotations

from typing import Any

from .grad_mode import state

__all__ = ["InferenceVersion", "mark", "is_inference"]

_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in "
          "inference mode in computation tracked by autograd. To work around this, you can make a "
          "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead "
          "of `torch.inference_mode()`.")


class InferenceVersion(list):
    """The version counter of an inference tensor (see the module docstring)."""

    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if not state.inference:
            raise RuntimeError(_SAVED)
        return list.__getitem__(self, index)


def mark(t: Any) -> Any:
    """Make ``t`` an inference tensor (it was created under ``inference_mode``)."""
    t._version_counter = InferenceVersion((0,))
    return t


def is_inference(t: Any) -> bool:
    return t._version_counter.__class__ is InferenceVersion
