from . import data  # noqa: F401
from . import checkpoint  # noqa: F401,E402
from . import model_zoo  # noqa: F401,E402
from . import dlpack, deterministic, hooks  # noqa: F401,E402
from ._swap import swap_tensors, set_module  # noqa: F401,E402
from . import flop_counter, benchmark  # noqa: F401,E402  (torch.utils.flop_counter, torch.utils.benchmark)
