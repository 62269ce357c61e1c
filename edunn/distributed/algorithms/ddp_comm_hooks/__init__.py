"""Communication hooks for ``DistributedDataParallel.register_comm_hook`` (lesson 18)."""
from . import default_hooks  # noqa: F401
