"""``edunn.nn.parallel``: ``DataParallel`` (one process, several devices) and
``DistributedDataParallel`` (one process per device, gradients all-reduced), as
``torch.nn.parallel`` (lesson 18)."""
from .data_parallel import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from .parallel_apply import *  # noqa: F401,F403  (parallel_apply, get_a_var)
from .replicate import *  # noqa: F401,F403  (replicate)
from .scatter_gather import *  # noqa: F401,F403  (scatter, scatter_kwargs, gather)
from . import comm  # noqa: F401
