"""``edunn.nn``: parameters, ``Module`` and every layer family, with PyTorch's names (lessons 03-13)."""
from .parameter import *  # noqa: F401,F403  (Parameter, UninitializedParameter, UninitializedBuffer)
from .modules import *  # noqa: F401,F403
from . import functional, init, utils  # noqa: F401
from .parallel import DataParallel  # noqa: F401,E402  (also binds the subpackage edunn.nn.parallel)
