"""``edunn.nn.parallel``: ``DataParallel`` (one process, several devices) and
``DistributedDataParallel`` (one process per device, gradients all-reduced), as
``torch.nn.parallel`` (lesson 18)."""
from .data_parallel import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
