"""optim.sparse_adam"""

__all__: list = []
