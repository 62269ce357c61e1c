"""``edunn.testing``: the checks tests and graders use, as ``torch.testing``.

* :func:`assert_close` -- are two results (tensors, NumPy arrays, numbers, or nested
  lists/dicts of them) equal up to per-dtype floating-point tolerance?  On failure it raises
  ``AssertionError`` with PyTorch's message: how many elements differ, the greatest absolute and
  relative differences and where (``_comparison.py``);
* :func:`make_tensor` -- a random input of a given shape, dtype and device, with PyTorch's value
  ranges, optionally non-contiguous or without zeros (``_creation.py``);
* :func:`assert_allclose` -- the deprecated older form of ``assert_close``.

Lesson 02 (autograd) checks gradients with these; every grader reports through them.
"""
from ._comparison import assert_allclose, assert_close
from ._creation import make_tensor

__all__ = ["assert_close", "make_tensor", "assert_allclose"]
