"""optim.asgd"""

__all__: list = []
