"""``edunn.signal``: PyTorch's ``torch.signal`` namespace (its one subpackage, ``windows``)."""
from . import windows

__all__ = ['windows']
