"""optim.sgd"""

__all__: list = []
