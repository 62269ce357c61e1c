"""``edunn.nn``: parameters, ``Module`` and every layer family, with PyTorch's names (lessons 03-13)."""
from .parameter import *  # noqa: F401,F403  (Parameter, UninitializedParameter, UninitializedBuffer)
from .modules import *  # noqa: F401,F403
from . import functional, init, utils  # noqa: F401
from .parallel import DataParallel  # noqa: F401,E402  (also binds the subpackage edunn.nn.parallel)
import importlib as _importlib  # noqa: E402
# torch.nn.attention (sdpa_kernel, bias, flex_attention); imported by name because ``from .modules
# import *`` has already bound ``attention`` to the layer module edunn.nn.modules.attention
attention = _importlib.import_module(".attention", __name__)
