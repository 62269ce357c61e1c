"""optim.adagrad"""

__all__: list = []
