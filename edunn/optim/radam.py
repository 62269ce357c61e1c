"""optim.radam"""

__all__: list = []
