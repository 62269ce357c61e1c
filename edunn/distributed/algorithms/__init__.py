"""``edunn.distributed.algorithms``: DDP communication hooks (``ddp_comm_hooks``), as PyTorch's."""
